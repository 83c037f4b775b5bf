//! New customers, with names, contact points and consent as shops have them.

use super::*;

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Linus", "Maya", "Noor", "Kenji", "Sofia", "Omar", "Lena", "Ravi",
    "Chloe", "Mateo", "Yuki", "Amara", "Jonas", "Priya", "Elena", "Tariq", "Hana",
];
pub(crate) const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Okafor", "Tanaka", "García", "Müller", "Silva", "Khan",
    "Novak", "Rossi", "Kim", "Dubois", "Andersen", "Haddad", "Moreau",
];
pub(crate) const PRODUCT_NOUNS: &[&str] = &[
    "Mug",
    "T-Shirt",
    "Hoodie",
    "Notebook",
    "Backpack",
    "Candle",
    "Poster",
    "Cap",
    "Socks",
    "Tote",
    "Water Bottle",
    "Sticker Pack",
    "Scarf",
    "Lamp",
    "Plant Pot",
];
pub(crate) const ADJECTIVES: &[&str] = &[
    "Classic", "Organic", "Vintage", "Minimal", "Cosy", "Bold", "Everyday", "Limited", "Linen",
    "Recycled",
];
pub(crate) const SIZES: &[&str] = &["S", "M", "L", "XL"];
pub(crate) const CITIES: &[(&str, &str, &str)] = &[
    ("New York", "United States", "US"),
    ("Toronto", "Canada", "CA"),
    ("London", "United Kingdom", "GB"),
    ("Berlin", "Germany", "DE"),
    ("Tokyo", "Japan", "JP"),
    ("Sydney", "Australia", "AU"),
    ("Mumbai", "India", "IN"),
];

impl Shop {
    pub fn new_customer(&mut self, at: DateTime<Utc>) -> i64 {
        let id = self.next_id();
        let first = *FIRST_NAMES.choose(&mut self.rng).unwrap_or(&"Sam");
        let last = *LAST_NAMES.choose(&mut self.rng).unwrap_or(&"Lee");
        let (city, country, code) = *CITIES.choose(&mut self.rng).unwrap_or(&CITIES[0]);
        let address = Address {
            address1: format!("{} Market Street", self.rng.gen_range(1..999)),
            city: city.to_owned(),
            province: None,
            country: country.to_owned(),
            country_code: code.to_owned(),
            zip: format!("{:05}", self.rng.gen_range(10000..99999)),
        };
        let consented = self.rng.gen_bool(0.4);
        let ts = self.local(at);
        let customer = Customer {
            id,
            admin_graphql_api_id: gid("Customer", id),
            email: Some(format!(
                "{}.{}.{}@example.com",
                first.to_lowercase(),
                ascii(last).to_lowercase(),
                id % 1_000_000
            )),
            phone: self
                .rng
                .gen_bool(0.5)
                .then(|| format!("+1555{:07}", self.rng.gen_range(0..10_000_000))),
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            state: if self.rng.gen_bool(0.6) {
                "enabled"
            } else {
                "disabled"
            }
            .to_owned(),
            verified_email: true,
            tags: if consented {
                "newsletter".to_owned()
            } else {
                String::new()
            },
            currency: self.currency.clone(),
            created_at: ts,
            updated_at: ts,
            default_address: Some(address.clone()),
            addresses: vec![address],
            email_marketing_consent: Some(MarketingConsent {
                state: if consented {
                    "subscribed"
                } else {
                    "not_subscribed"
                }
                .to_owned(),
                opt_in_level: Some("single_opt_in".to_owned()),
                consent_updated_at: consented.then_some(ts),
            }),
        };
        self.customers.insert(id, customer);
        id
    }
}
