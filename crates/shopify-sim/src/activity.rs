//! Live activity: changes to a shop, each with the webhooks Shopify would send for it.

use chrono::{Duration, Utc};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::Deserialize;
use serde_json::json;

use crate::model::{Deletion, Order};
use crate::shop::{later, Change, Shop};

/// The shape a new order is given beyond what generation rolls.
#[derive(Clone, Copy)]
enum Shape {
    CrossBorder,
    Tipped,
}

/// What `POST /_sim/shops/{domain}/activity` asks for: how many of each kind of change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivitySpec {
    pub orders: usize,
    /// New orders shipped abroad, with import duties on their lines.
    pub cross_border_orders: usize,
    /// New orders with a tip.
    pub tipped_orders: usize,
    pub order_updates: usize,
    pub refunds: usize,
    /// Refunds of shipping alone (no items returned).
    pub shipping_refunds: usize,
    /// Refunds of one unit of a line together with the order's shipping.
    pub mixed_refunds: usize,
    pub cancellations: usize,
    pub customers: usize,
    pub customer_updates: usize,
    pub products: usize,
    pub product_updates: usize,
    pub checkouts: usize,
    pub deletions: usize,
    /// Changes per second. Without it everything happens at once and the call returns when
    /// deliveries have been attempted; with it the changes trickle out in the background.
    pub rate: Option<f64>,
}

impl ActivitySpec {
    /// The spec as single changes, kinds interleaved, for paced activity.
    pub fn units(&self) -> Vec<ActivitySpec> {
        type SetOne = fn(&mut ActivitySpec);
        let kinds: [(usize, SetOne); 14] = [
            (self.orders, |s| s.orders = 1),
            (self.cross_border_orders, |s| s.cross_border_orders = 1),
            (self.tipped_orders, |s| s.tipped_orders = 1),
            (self.order_updates, |s| s.order_updates = 1),
            (self.refunds, |s| s.refunds = 1),
            (self.shipping_refunds, |s| s.shipping_refunds = 1),
            (self.mixed_refunds, |s| s.mixed_refunds = 1),
            (self.cancellations, |s| s.cancellations = 1),
            (self.customers, |s| s.customers = 1),
            (self.customer_updates, |s| s.customer_updates = 1),
            (self.products, |s| s.products = 1),
            (self.product_updates, |s| s.product_updates = 1),
            (self.checkouts, |s| s.checkouts = 1),
            (self.deletions, |s| s.deletions = 1),
        ];
        let most = kinds.iter().map(|(n, _)| *n).max().unwrap_or(0);
        let mut units = Vec::new();
        for round in 0..most {
            for (count, set) in &kinds {
                if round < *count {
                    let mut unit = ActivitySpec::default();
                    set(&mut unit);
                    units.push(unit);
                }
            }
        }
        units
    }
}

fn payload<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl Shop {
    /// Applies `spec` now and returns the webhooks it causes, in the order they happened.
    pub fn apply_activity(&mut self, spec: &ActivitySpec) -> Vec<Change> {
        let mut changes = Vec::new();
        let now = Utc::now();
        for _ in 0..spec.customers {
            let id = self.new_customer(now);
            changes.push(Change {
                topic: "customers/create",
                payload: payload(&self.customers[&id]),
            });
        }
        for _ in 0..spec.products {
            let id = self.new_product(now);
            changes.push(Change {
                topic: "products/create",
                payload: payload(&self.products[&id]),
            });
        }
        let customer_ids: Vec<i64> = self.customers.keys().copied().collect();
        let shaped = [
            (spec.orders, None),
            (spec.cross_border_orders, Some(Shape::CrossBorder)),
            (spec.tipped_orders, Some(Shape::Tipped)),
        ];
        for shape in shaped
            .into_iter()
            .flat_map(|(count, shape)| std::iter::repeat_n(shape, count))
        {
            let customer = if self.rng_bool(0.85) {
                customer_ids.choose(self.rng()).copied()
            } else {
                None
            };
            let id = self.new_order(now, customer);
            match shape {
                Some(Shape::CrossBorder) => self.charge_order_duties(id),
                Some(Shape::Tipped) => self.tip_order(id, 15),
                None => {}
            }
            let order = payload(&self.orders[&id]);
            changes.push(Change {
                topic: "orders/create",
                payload: order.clone(),
            });
            if self.orders[&id].financial_status == "paid" {
                changes.push(Change {
                    topic: "orders/paid",
                    payload: order,
                });
            }
            if let Some(checkout) = self.checkouts.values().find(|c| c.order_id == Some(id)) {
                let checkout = payload(checkout);
                changes.push(Change {
                    topic: "checkouts/create",
                    payload: checkout.clone(),
                });
                changes.push(Change {
                    topic: "checkouts/update",
                    payload: checkout,
                });
            }
        }
        for _ in 0..spec.order_updates {
            let Some(id) = self.random_key(|s| s.orders.keys().copied().collect()) else {
                break;
            };
            let ts = self.local(now);
            if let Some(order) = self.orders.get_mut(&id) {
                order.tags = if order.tags.is_empty() {
                    "vip".to_owned()
                } else {
                    String::new()
                };
                order.updated_at = later(order.updated_at, ts);
                if order.fulfillment_status.is_none() && order.cancelled_at.is_none() {
                    order.fulfillment_status = Some("fulfilled".to_owned());
                    changes.push(Change {
                        topic: "orders/fulfilled",
                        payload: payload(&*order),
                    });
                }
                changes.push(Change {
                    topic: "orders/updated",
                    payload: payload(&*order),
                });
            }
        }
        let has_items = |o: &Order| o.line_items.iter().any(|l| l.current_quantity > 0);
        let shipping_unrefunded = |o: &Order| {
            o.refunds.iter().all(|r| r.refund_shipping_lines.is_empty())
                && o.shipping_lines
                    .iter()
                    .any(|l| !l.discounted_price.is_zero())
        };
        for _ in 0..spec.refunds {
            let Some(id) = self.pick_paid_order(has_items) else {
                break;
            };
            let full = self.rng_bool(0.3);
            if let Some(refund) = self.refund_order(id, now, full) {
                changes.extend(self.refund_changes(&refund, id));
            }
        }
        for _ in 0..spec.shipping_refunds {
            let Some(id) = self.pick_paid_order(shipping_unrefunded) else {
                break;
            };
            if let Some(refund) = self.refund_shipping(id, now) {
                changes.extend(self.refund_changes(&refund, id));
            }
        }
        for _ in 0..spec.mixed_refunds {
            let both = |o: &Order| {
                shipping_unrefunded(o)
                    && o.line_items
                        .iter()
                        .any(|l| l.current_quantity > 0 && !l.gift_card)
            };
            let Some(id) = self.pick_paid_order(both) else {
                break;
            };
            if let Some(refund) = self.refund_line_and_shipping(id, now) {
                changes.extend(self.refund_changes(&refund, id));
            }
        }
        for _ in 0..spec.cancellations {
            let open: Vec<i64> = self
                .orders
                .values()
                .filter(|o| o.cancelled_at.is_none())
                .map(|o| o.id)
                .collect();
            let Some(&id) = open.choose(self.rng()) else {
                break;
            };
            if let Some(refund) = self.cancel_order(id, now) {
                if let Some(refund) = refund {
                    changes.push(Change {
                        topic: "refunds/create",
                        payload: payload(&refund),
                    });
                }
                let order = payload(&self.orders[&id]);
                changes.push(Change {
                    topic: "orders/cancelled",
                    payload: order.clone(),
                });
                changes.push(Change {
                    topic: "orders/updated",
                    payload: order,
                });
            }
        }
        for _ in 0..spec.customer_updates {
            let Some(id) = self.random_key(|s| s.customers.keys().copied().collect()) else {
                break;
            };
            let ts = self.local(now);
            let tag = self.rng().gen_range(1..100);
            if let Some(customer) = self.customers.get_mut(&id) {
                customer.tags = format!("segment-{tag}");
                customer.updated_at = later(customer.updated_at, ts);
                changes.push(Change {
                    topic: "customers/update",
                    payload: payload(&*customer),
                });
            }
        }
        for _ in 0..spec.product_updates {
            let Some(id) = self.random_key(|s| s.products.keys().copied().collect()) else {
                break;
            };
            let ts = self.local(now);
            if let Some(product) = self.products.get_mut(&id) {
                product.updated_at = later(product.updated_at, ts);
                let stamp = product.updated_at;
                for variant in &mut product.variants {
                    variant.inventory_quantity = (variant.inventory_quantity - 1).max(0);
                    variant.updated_at = stamp;
                }
                changes.push(Change {
                    topic: "products/update",
                    payload: payload(&*product),
                });
            }
        }
        for _ in 0..spec.checkouts {
            let customer = customer_ids.choose(self.rng()).copied();
            let at = now - Duration::seconds(1);
            let id = self.new_checkout(at, customer, None);
            let checkout = payload(&self.checkouts[&id]);
            if let Some(cart) = self.carts.get(&self.checkouts[&id].cart_token) {
                changes.push(Change {
                    topic: "carts/create",
                    payload: payload(cart),
                });
            }
            changes.push(Change {
                topic: "checkouts/create",
                payload: checkout,
            });
        }
        for _ in 0..spec.deletions {
            // Deleting a product is what shops do most; orders and customers rarely go.
            let Some(id) = self.random_key(|s| s.products.keys().copied().collect()) else {
                break;
            };
            self.products.remove(&id);
            let at = self.local(now);
            self.deletions.push(Deletion {
                subject_type: "PRODUCT".to_owned(),
                subject_id: id,
                occurred_at: at,
            });
            changes.push(Change {
                topic: "products/delete",
                payload: json!({ "id": id }),
            });
        }
        changes
    }

    /// A random order that is paid, not cancelled, and `eligible`.
    fn pick_paid_order(&mut self, eligible: impl Fn(&Order) -> bool) -> Option<i64> {
        let ids: Vec<i64> = self
            .orders
            .values()
            .filter(|o| o.cancelled_at.is_none())
            .filter(|o| matches!(o.financial_status.as_str(), "paid" | "partially_refunded"))
            .filter(|o| eligible(o))
            .map(|o| o.id)
            .collect();
        ids.choose(self.rng()).copied()
    }

    /// The webhooks a refund sends: the refund, and its order as it now is.
    fn refund_changes(&self, refund: &crate::model::Refund, order_id: i64) -> [Change; 2] {
        [
            Change {
                topic: "refunds/create",
                payload: payload(refund),
            },
            Change {
                topic: "orders/updated",
                payload: payload(&self.orders[&order_id]),
            },
        ]
    }

    fn random_key(&mut self, keys: impl Fn(&Self) -> Vec<i64>) -> Option<i64> {
        let keys = keys(self);
        keys.choose(self.rng()).copied()
    }
}
