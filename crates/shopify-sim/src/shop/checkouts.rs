//! Abandoned checkouts.

use super::*;

impl Shop {
    pub fn new_checkout(
        &mut self,
        at: DateTime<Utc>,
        customer_id: Option<i64>,
        order_id: Option<i64>,
    ) -> i64 {
        let id = self.next_id();
        let ts = self.local(at);
        let token = format!("{:032x}", self.rng.gen::<u128>());
        let cart_token = format!("{:032x}", self.rng.gen::<u128>());
        let lines: Vec<CheckoutLineItem> = match order_id.and_then(|o| self.orders.get(&o)) {
            Some(order) => order
                .line_items
                .iter()
                .map(|l| CheckoutLineItem {
                    key: format!("{:x}", l.id),
                    product_id: l.product_id,
                    variant_id: l.variant_id,
                    title: l.title.clone(),
                    variant_title: l.variant_title.clone(),
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    price: l.price,
                })
                .collect(),
            None => self
                .pick_variants()
                .into_iter()
                .map(|(v, title, quantity)| CheckoutLineItem {
                    key: format!("{:x}", v.id),
                    product_id: Some(v.product_id),
                    variant_id: Some(v.id),
                    title,
                    variant_title: Some(v.title.clone()),
                    sku: Some(v.sku.clone()),
                    quantity,
                    price: v.price,
                })
                .collect(),
        };
        let subtotal: Decimal = lines
            .iter()
            .map(|l| l.price * Decimal::from(l.quantity))
            .sum();
        let tax = self.round(subtotal * Decimal::new(8, 2));
        let completed = order_id
            .and_then(|o| self.orders.get(&o))
            .map(|o| o.processed_at);
        let customer = customer_id
            .and_then(|c| self.customers.get(&c))
            .map(CustomerRef::from);
        let cart_lines = lines
            .iter()
            .enumerate()
            .map(|(i, l)| CartLineItem {
                id: id + i as i64,
                product_id: l.product_id.unwrap_or_default(),
                variant_id: l.variant_id.unwrap_or_default(),
                title: l.title.clone(),
                quantity: l.quantity,
                price: l.price,
                line_price: l.price * Decimal::from(l.quantity),
                sku: l.sku.clone().unwrap_or_default(),
            })
            .collect();
        self.carts.insert(
            cart_token.clone(),
            Cart {
                id: cart_token.clone(),
                token: cart_token.clone(),
                line_items: cart_lines,
                created_at: ts,
                updated_at: ts,
            },
        );
        let checkout = Checkout {
            id,
            admin_graphql_api_id: gid("AbandonedCheckout", id),
            abandoned_checkout_url: format!("https://{}/checkouts/{token}/recover", self.domain),
            token,
            cart_token,
            email: customer.as_ref().and_then(|c| c.email.clone()),
            created_at: ts,
            // Completing a checkout updates it.
            updated_at: completed.unwrap_or(ts),
            completed_at: completed,
            currency: self.currency.clone(),
            presentment_currency: self.currency.clone(),
            subtotal_price: subtotal,
            total_tax: tax,
            total_discounts: Decimal::ZERO,
            total_price: subtotal + tax,
            line_items: lines,
            customer,
            order_id,
        };
        self.checkouts.insert(id, checkout);
        id
    }
}
