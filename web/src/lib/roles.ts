/** Roles, lowest first: each may do what the ones below it may. The server decides; pages
 * only disable what a role cannot do, so nobody clicks into a refusal. */
export const ROLES = ['viewer', 'analyst', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `role` may do what `needed` may. Unknown roles may do nothing. */
export function can(role: string | undefined, needed: Role): boolean {
  const have = ROLES.indexOf(role as Role);
  return have >= 0 && have >= ROLES.indexOf(needed);
}

/** What each role may do, in a line. */
export const ROLE_WORDS: Record<Role, string> = {
  viewer: 'Viewer: figures and lists, without customers’ names, emails, phones or addresses',
  analyst: 'Analyst: every figure and list, and exports',
  admin: 'Admin: also stores, syncs, members, invitations and API keys',
  owner: 'Owner: everything, including handing the account over',
};
