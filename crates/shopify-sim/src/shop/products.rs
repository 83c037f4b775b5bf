//! New products and the variants orders pick from.

use super::*;

impl Shop {
    pub fn new_product(&mut self, at: DateTime<Utc>) -> i64 {
        let id = self.next_id();
        let noun = *PRODUCT_NOUNS.choose(&mut self.rng).unwrap_or(&"Mug");
        let adjective = *ADJECTIVES.choose(&mut self.rng).unwrap_or(&"Classic");
        let title = format!("{adjective} {noun}");
        let ts = self.local(at);
        let sized = self.rng.gen_bool(0.5);
        let sizes: Vec<&str> = if sized {
            SIZES.to_vec()
        } else {
            vec!["Default Title"]
        };
        let base = self.price(5, 120);
        let mut variants = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let vid = self.next_id();
            variants.push(Variant {
                id: vid,
                admin_graphql_api_id: gid("ProductVariant", vid),
                product_id: id,
                title: (*size).to_owned(),
                sku: format!("{}-{}-{}", &noun[..2].to_uppercase(), id % 100_000, i + 1),
                price: base,
                compare_at_price: self
                    .rng
                    .gen_bool(0.2)
                    .then(|| base * Decimal::new(12, 1))
                    .map(|p| self.round(p)),
                position: i as i32 + 1,
                inventory_quantity: self.rng.gen_range(0..500),
                option1: Some((*size).to_owned()),
                created_at: ts,
                updated_at: ts,
            });
        }
        let status = match self.rng.gen_range(0..20) {
            0 => "draft",
            1 => "archived",
            _ => "active",
        };
        let product = Product {
            id,
            admin_graphql_api_id: gid("Product", id),
            handle: format!(
                "{}-{}",
                title.to_lowercase().replace(' ', "-"),
                id % 100_000
            ),
            title,
            vendor: self.name.clone(),
            product_type: noun.to_owned(),
            status: status.to_owned(),
            tags: String::new(),
            created_at: ts,
            updated_at: ts,
            published_at: (status == "active").then_some(ts),
            options: vec![ProductOption {
                id: id + 1_000_000_000,
                product_id: id,
                name: if sized { "Size" } else { "Title" }.to_owned(),
                position: 1,
                values: sizes.iter().map(|s| (*s).to_owned()).collect(),
            }],
            variants,
            images: Vec::new(),
        };
        self.products.insert(id, product);
        id
    }

    pub(crate) fn pick_variants(&mut self) -> Vec<(Variant, String, i32)> {
        let product_ids: Vec<i64> = self
            .products
            .values()
            .filter(|p| p.status == "active")
            .map(|p| p.id)
            .collect();
        let product_ids = if product_ids.is_empty() {
            self.products.keys().copied().collect()
        } else {
            product_ids
        };
        let lines = self.rng.gen_range(1..=4);
        let mut picked = Vec::new();
        for _ in 0..lines {
            let Some(&pid) = product_ids.choose(&mut self.rng) else {
                break;
            };
            let product = &self.products[&pid];
            let Some(variant) = product.variants.choose(&mut self.rng).cloned() else {
                continue;
            };
            if picked
                .iter()
                .any(|(v, _, _): &(Variant, String, i32)| v.id == variant.id)
            {
                continue;
            }
            let title = product.title.clone();
            let qty = if self.rng.gen_bool(0.8) {
                1
            } else {
                self.rng.gen_range(2..=5)
            };
            picked.push((variant, title, qty));
        }
        picked
    }
}
