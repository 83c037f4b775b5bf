import { describe, expect, it } from 'vitest';
import { can } from './roles';

describe('can', () => {
  it('lets each role do what the roles below it may', () => {
    expect(can('admin', 'analyst')).toBe(true);
    expect(can('analyst', 'admin')).toBe(false);
    expect(can('owner', 'owner')).toBe(true);
    expect(can('viewer', 'viewer')).toBe(true);
  });

  it('lets an unknown or missing role do nothing', () => {
    expect(can(undefined, 'viewer')).toBe(false);
    expect(can('superuser', 'viewer')).toBe(false);
  });
});
