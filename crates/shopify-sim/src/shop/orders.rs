//! New orders: lines, discounts (automatic and code, as allocations), shipping, taxes, and
//! their totals.

use super::*;

impl Shop {
    pub fn new_order(&mut self, at: DateTime<Utc>, customer_id: Option<i64>) -> i64 {
        let id = self.next_id();
        let ts = self.local(at);
        let customer = customer_id
            .and_then(|c| self.customers.get(&c))
            .map(CustomerRef::from);
        let code_rate = if self.rng.gen_bool(0.25) {
            Some(Decimal::new(self.rng.gen_range(1..=3) * 5, 2))
        } else {
            None
        };
        let automatic = self.rng.gen_bool(0.1);
        let gift_card = self.rng.gen_bool(0.04);
        let mut line_items = Vec::new();
        for (variant, title, quantity) in self.pick_variants() {
            let line_id = self.next_id();
            line_items.push(LineItem {
                id: line_id,
                admin_graphql_api_id: gid("LineItem", line_id),
                product_id: Some(variant.product_id),
                variant_id: Some(variant.id),
                title,
                variant_title: Some(variant.title.clone()),
                sku: Some(variant.sku.clone()),
                vendor: Some(self.name.clone()),
                quantity,
                current_quantity: quantity,
                price: variant.price,
                price_set: MoneySet::new(variant.price, &self.currency),
                total_discount: Decimal::ZERO,
                discount_allocations: Vec::new(),
                gift_card: false,
                taxable: true,
                tax_lines: Vec::new(),
                duties: Vec::new(),
            });
        }
        if gift_card {
            let line_id = self.next_id();
            let face_value = if self.rng.gen_bool(0.5) { 25 } else { 50 };
            let price = self.round(Decimal::from(face_value));
            line_items.push(LineItem {
                id: line_id,
                admin_graphql_api_id: gid("LineItem", line_id),
                product_id: None,
                variant_id: None,
                title: "Gift Card".to_owned(),
                variant_title: Some(price.to_string()),
                sku: None,
                vendor: Some(self.name.clone()),
                quantity: 1,
                current_quantity: 1,
                price,
                price_set: MoneySet::new(price, &self.currency),
                total_discount: Decimal::ZERO,
                discount_allocations: Vec::new(),
                gift_card: true,
                taxable: false,
                tax_lines: Vec::new(),
                duties: Vec::new(),
            });
        }
        let discount_applications = self.apply_discounts(&mut line_items, automatic, code_rate);
        let tax_rate = Decimal::new(8, 2);
        for line in line_items.iter_mut().filter(|l| l.taxable) {
            let gross = line.price * Decimal::from(line.quantity);
            let tax = round_to((gross - line.discount()) * tax_rate, self.digits);
            line.tax_lines.push(TaxLine {
                title: "Sales tax".to_owned(),
                price: tax,
                rate: tax_rate,
            });
        }
        // Duties, fees and tips come from the order's own stream, so adding them left every
        // other generated value as it was.
        let mut extras = ChaCha8Rng::seed_from_u64(id as u64 ^ 0xD0_7135);
        if extras.gen_bool(0.06) {
            self.charge_duties(&mut line_items);
        }
        let additional_fee = extras
            .gen_bool(0.03)
            .then(|| self.round(Decimal::new(150, 2)));
        let tip_percent = extras.gen_bool(0.04).then(|| extras.gen_range(10..=20));
        let shipping = if self.rng.gen_bool(0.3) {
            Decimal::ZERO
        } else {
            self.price(3, 15)
        };
        let shipping_id = self.next_id();
        // A shipping discount on some orders that pay for shipping: free shipping, or half off.
        let shipping_off = (shipping > Decimal::ZERO && self.rng.gen_bool(0.12)).then(|| {
            if self.rng.gen_bool(0.7) {
                100
            } else {
                50
            }
        });
        let number = self.next_order_number;
        self.next_order_number += 1;
        let test = self.rng.gen_bool(0.02);
        let financial_status = match self.rng.gen_range(0..20) {
            0 => "pending",
            1 => "authorized",
            _ => "paid",
        };
        let address = self
            .customers
            .get(&customer_id.unwrap_or_default())
            .and_then(|c| c.default_address.clone());
        let email = customer
            .as_ref()
            .and_then(|c| c.email.clone())
            .or_else(|| Some(format!("guest{}@example.net", id % 1_000_000)));
        let zero = MoneySet::new(Decimal::ZERO, &self.currency);
        let mut order = Order {
            id,
            admin_graphql_api_id: gid("Order", id),
            name: format!("#{number}"),
            order_number: number,
            email,
            created_at: ts,
            updated_at: ts,
            processed_at: ts,
            cancelled_at: None,
            cancel_reason: None,
            closed_at: None,
            currency: self.currency.clone(),
            presentment_currency: self.currency.clone(),
            total_price: Decimal::ZERO,
            subtotal_price: Decimal::ZERO,
            total_tax: Decimal::ZERO,
            total_discounts: Decimal::ZERO,
            total_line_items_price: Decimal::ZERO,
            current_total_price: Decimal::ZERO,
            current_subtotal_price: Decimal::ZERO,
            current_total_tax: Decimal::ZERO,
            current_total_discounts: Decimal::ZERO,
            total_price_set: zero.clone(),
            subtotal_price_set: zero.clone(),
            total_tax_set: zero.clone(),
            total_discounts_set: zero.clone(),
            total_shipping_price_set: zero.clone(),
            current_total_price_set: zero,
            original_total_duties_set: None,
            current_total_duties_set: None,
            original_total_additional_fees_set: additional_fee
                .map(|fee| MoneySet::new(fee, &self.currency)),
            current_total_additional_fees_set: None,
            total_tip_received: Decimal::ZERO,
            financial_status: financial_status.to_owned(),
            fulfillment_status: None,
            test,
            source_name: "web".to_owned(),
            tags: String::new(),
            customer,
            line_items,
            refunds: Vec::new(),
            shipping_lines: vec![ShippingLine {
                id: shipping_id,
                title: "Standard".to_owned(),
                price: shipping,
                discounted_price: shipping,
                code: "STANDARD".to_owned(),
                discount_allocations: Vec::new(),
            }],
            discount_codes: Vec::new(),
            discount_applications,
            billing_address: address.clone(),
            shipping_address: address,
        };
        if let Some(percent) = shipping_off {
            let amount = round_to(
                shipping * Decimal::from(percent) / Decimal::from(100),
                self.digits,
            );
            order.discount_applications.push(DiscountApplication {
                kind: "discount_code".to_owned(),
                code: Some(
                    if percent == 100 {
                        "FREESHIP"
                    } else {
                        "HALFSHIP"
                    }
                    .to_owned(),
                ),
                title: format!("{percent}% off shipping"),
                value: Decimal::from(percent),
                value_type: "percentage".to_owned(),
                allocation_method: "each".to_owned(),
                target_selection: "all".to_owned(),
                target_type: "shipping_line".to_owned(),
            });
            let index = order.discount_applications.len() - 1;
            for line in &mut order.shipping_lines {
                line.discount_allocations.push(DiscountAllocation {
                    amount,
                    amount_set: MoneySet::new(amount, &self.currency),
                    discount_application_index: index,
                });
                line.discounted_price = line.price - amount;
            }
        }
        for (index, application) in order.discount_applications.iter().enumerate() {
            let Some(code) = &application.code else {
                continue;
            };
            let amount: Decimal = order
                .line_items
                .iter()
                .flat_map(|l| &l.discount_allocations)
                .chain(
                    order
                        .shipping_lines
                        .iter()
                        .flat_map(|l| &l.discount_allocations),
                )
                .filter(|a| a.discount_application_index == index)
                .map(|a| a.amount)
                .sum();
            order.discount_codes.push(DiscountCode {
                code: code.clone(),
                amount,
                kind: "percentage".to_owned(),
            });
        }
        recompute(&mut order);
        let checkout_at = at - Duration::minutes(self.rng.gen_range(2..60));
        self.orders.insert(id, order);
        if let Some(percent) = tip_percent {
            self.tip_order(id, percent);
        }
        let customer_for_checkout = customer_id;
        self.new_checkout(checkout_at, customer_for_checkout, Some(id));
        id
    }

    /// Ships an order abroad: duties on its lines, unless it has them already.
    pub fn charge_order_duties(&mut self, order_id: i64) {
        let Some(mut lines) = self
            .orders
            .get(&order_id)
            .filter(|o| o.line_items.iter().all(|l| l.duties.is_empty()))
            .map(|o| o.line_items.clone())
        else {
            return;
        };
        self.charge_duties(&mut lines);
        if let Some(order) = self.orders.get_mut(&order_id) {
            order.line_items = lines;
            recompute(order);
        }
    }

    /// Adds a tip of `percent` of the goods to an order.
    pub fn tip_order(&mut self, order_id: i64, percent: u32) {
        let digits = self.digits;
        if let Some(order) = self.orders.get_mut(&order_id) {
            let goods: Decimal = order
                .line_items
                .iter()
                .map(|l| l.price * Decimal::from(l.quantity) - l.discount())
                .sum();
            order.total_tip_received =
                round_to(goods * Decimal::from(percent) / Decimal::from(100), digits);
            recompute(order);
        }
    }

    /// Import duties on a cross-border order: 6 % of each dutiable line's price after
    /// discounts (gift cards are not goods).
    fn charge_duties(&mut self, lines: &mut [LineItem]) {
        for line in lines.iter_mut().filter(|l| !l.gift_card) {
            let value = line.price * Decimal::from(line.quantity) - line.discount();
            let amount = round_to(value * Decimal::new(6, 2), self.digits);
            if amount <= Decimal::ZERO {
                continue;
            }
            let id = self.next_id();
            line.duties.push(Duty {
                id,
                admin_graphql_api_id: gid("Duty", id),
                harmonized_system_code: "6109100010".to_owned(),
                country_code_of_origin: "PT".to_owned(),
                price_set: MoneySet::new(amount, &self.currency),
            });
        }
    }

    /// Discounts the lines as Shopify records them: an automatic discount on one line is
    /// line-level (in `total_discount` and an allocation); a code discount is order-level,
    /// spread across the lines as allocations only. Gift cards are never discounted.
    pub(crate) fn apply_discounts(
        &mut self,
        lines: &mut [LineItem],
        automatic: bool,
        code_rate: Option<Decimal>,
    ) -> Vec<DiscountApplication> {
        let mut applications = Vec::new();
        let currency = self.currency.clone();
        let digits = self.digits;
        let allocate = |line: &mut LineItem, amount: Decimal, index: usize| {
            line.discount_allocations.push(DiscountAllocation {
                amount,
                amount_set: MoneySet::new(amount, &currency),
                discount_application_index: index,
            });
        };
        if automatic {
            if let Some(line) = lines.iter_mut().find(|l| !l.gift_card) {
                let index = applications.len();
                applications.push(DiscountApplication {
                    kind: "automatic".to_owned(),
                    code: None,
                    title: "Bundle deal".to_owned(),
                    value: Decimal::from(10),
                    value_type: "percentage".to_owned(),
                    allocation_method: "each".to_owned(),
                    target_selection: "entitled".to_owned(),
                    target_type: "line_item".to_owned(),
                });
                let amount = round_to(
                    line.price * Decimal::from(line.quantity) * Decimal::new(10, 2),
                    digits,
                );
                line.total_discount += amount;
                allocate(line, amount, index);
            }
        }
        if let Some(rate) = code_rate {
            let index = applications.len();
            let percent = rate * Decimal::from(100);
            applications.push(DiscountApplication {
                kind: "discount_code".to_owned(),
                code: Some(format!("SAVE{}", percent.normalize())),
                title: format!("SAVE{}", percent.normalize()),
                value: percent.normalize(),
                value_type: "percentage".to_owned(),
                allocation_method: "across".to_owned(),
                target_selection: "all".to_owned(),
                target_type: "line_item".to_owned(),
            });
            for line in lines.iter_mut().filter(|l| !l.gift_card) {
                let remaining = line.price * Decimal::from(line.quantity) - line.discount();
                let amount = round_to(remaining * rate, digits);
                if amount > Decimal::ZERO {
                    allocate(line, amount, index);
                }
            }
        }
        applications
    }

    /// Ages a freshly generated order up to `end`: fulfilment, refunds, cancellations.
    pub(crate) fn age_order(&mut self, order_id: i64, at: DateTime<Utc>, end: DateTime<Utc>) {
        let roll = self.rng.gen_range(0..100);
        let some_time_after = |rng: &mut ChaCha8Rng| {
            let room = (end - at).num_seconds().max(2);
            at + Duration::seconds(rng.gen_range(1..room.min(30 * 86_400)))
        };
        let unpaid = self
            .orders
            .get(&order_id)
            .is_some_and(|o| matches!(o.financial_status.as_str(), "pending" | "authorized"));
        // Orders never paid are cancelled far more often than paid ones.
        if roll < 4 || (unpaid && roll < 25) {
            let when = some_time_after(&mut self.rng);
            self.cancel_order(order_id, when);
        } else if roll < 12 {
            let when = some_time_after(&mut self.rng);
            let full = self.rng.gen_bool(0.3);
            // A third of partial refunds give the shipping back with the item (decided by
            // the order, so the rest of the generated shop stays as it was).
            if !full && order_id % 3 == 0 {
                self.refund_line_and_shipping(order_id, when);
            } else {
                self.refund_order(order_id, when, full);
            }
        } else if roll < 14 {
            let when = some_time_after(&mut self.rng);
            self.refund_shipping(order_id, when);
        } else if roll < 90 {
            let when = some_time_after(&mut self.rng);
            let ts = self.local(when);
            if let Some(order) = self.orders.get_mut(&order_id) {
                if order.financial_status == "paid" {
                    order.fulfillment_status = Some("fulfilled".to_owned());
                    order.closed_at = Some(ts);
                    order.updated_at = later(order.updated_at, ts);
                }
            }
        }
    }
}

/// Whether an order has money to give back: paid, and not cancelled.
pub(crate) fn refundable(order: &Order) -> bool {
    order.cancelled_at.is_none()
        && matches!(
            order.financial_status.as_str(),
            "paid" | "partially_refunded"
        )
}

/// Derives an order's totals from its lines, shipping and refunds, as Shopify reports them.
pub fn recompute(order: &mut Order) {
    let currency = order.currency.clone();
    let line_total: Decimal = order
        .line_items
        .iter()
        .map(|l| l.price * Decimal::from(l.quantity))
        .sum();
    let discounts: Decimal = order.line_items.iter().map(LineItem::discount).sum();
    let tax: Decimal = order
        .line_items
        .iter()
        .flat_map(|l| l.tax_lines.iter().map(|t| t.price))
        .sum();
    // Charged for shipping: after shipping discounts, which Shopify counts in total_discounts.
    let shipping_before: Decimal = order.shipping_lines.iter().map(|s| s.price).sum();
    let shipping_discounts: Decimal = order
        .shipping_lines
        .iter()
        .map(ShippingLine::discount)
        .sum();
    let shipping = shipping_before - shipping_discounts;
    order.total_line_items_price = line_total;
    order.total_discounts = discounts + shipping_discounts;
    order.subtotal_price = line_total - discounts;
    order.total_tax = tax;
    let duties: Decimal = order.line_items.iter().map(LineItem::duty).sum();
    let fees = order
        .original_total_additional_fees_set
        .as_ref()
        .map_or(Decimal::ZERO, |f| f.shop_money.amount);
    order.total_price =
        order.subtotal_price + tax + shipping + duties + fees + order.total_tip_received;

    let refunded_subtotal: Decimal = order
        .refunds
        .iter()
        .flat_map(|r| r.refund_line_items.iter().map(|l| l.subtotal))
        .sum();
    let refunded_tax: Decimal = order
        .refunds
        .iter()
        .flat_map(|r| r.refund_line_items.iter().map(|l| l.total_tax))
        .sum();
    let refunded_tax = refunded_tax
        + order
            .refunds
            .iter()
            .map(Refund::shipping_tax)
            .sum::<Decimal>();
    let refunded: Decimal = order.refunds.iter().map(Refund::amount).sum();
    order.current_subtotal_price = order.subtotal_price - refunded_subtotal;
    order.current_total_tax = tax - refunded_tax;
    order.current_total_price = order.total_price - refunded;
    order.current_total_discounts = order
        .line_items
        .iter()
        .map(|l| {
            if l.quantity == 0 {
                Decimal::ZERO
            } else {
                l.discount() * Decimal::from(l.current_quantity) / Decimal::from(l.quantity)
            }
        })
        .sum::<Decimal>()
        .round_dp(2);
    if !order.refunds.is_empty() {
        let all_refunded = order.current_total_price <= Decimal::ZERO;
        order.financial_status = if all_refunded {
            "refunded"
        } else {
            "partially_refunded"
        }
        .to_owned();
    }
    order.total_price_set = MoneySet::new(order.total_price, &currency);
    order.subtotal_price_set = MoneySet::new(order.subtotal_price, &currency);
    order.total_tax_set = MoneySet::new(order.total_tax, &currency);
    order.total_discounts_set = MoneySet::new(order.total_discounts, &currency);
    // Shopify: "the total shipping price of the order, excluding discounts and returns".
    order.total_shipping_price_set = MoneySet::new(shipping_before, &currency);
    order.current_total_price_set = MoneySet::new(order.current_total_price, &currency);
    let duties_back: Decimal = order.refunds.iter().map(Refund::duties).sum();
    let has_duties = order.line_items.iter().any(|l| !l.duties.is_empty());
    order.original_total_duties_set = has_duties.then(|| MoneySet::new(duties, &currency));
    order.current_total_duties_set =
        has_duties.then(|| MoneySet::new(duties - duties_back, &currency));
    order.current_total_additional_fees_set = order.original_total_additional_fees_set.clone();
}
