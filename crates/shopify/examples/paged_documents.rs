//! Writes the paged documents built from the bulk ones into a directory, one `.graphql` file
//! each, so the test script can validate them against Shopify's schema like the others.

use xeno_shopify::paged;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/paged-queries".to_owned());
    std::fs::create_dir_all(&dir)?;
    let exports = [
        ("customers", &*paged::CUSTOMERS),
        ("products", &*paged::PRODUCTS),
        ("orders", &*paged::ORDERS),
        ("abandoned_checkouts", &*paged::ABANDONED_CHECKOUTS),
        ("customer_ids", &*paged::CUSTOMER_IDS),
        ("product_ids", &*paged::PRODUCT_IDS),
        ("order_ids", &*paged::ORDER_IDS),
    ];
    for (name, export) in exports {
        for (i, document) in export.documents().into_iter().enumerate() {
            std::fs::write(format!("{dir}/paged_{name}_{i}.graphql"), document)?;
        }
    }
    Ok(())
}
