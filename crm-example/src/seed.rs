//! Sample data for a first run: a small B2B sales team's book of business.

use crate::db::{CrmError, Db, days_from_now, now};
use crate::tenant::DEFAULT_TENANT;

const COMPANIES: &[(&str, &str, &str)] = &[
    ("Northwind Traders", "northwind.example", "Wholesale"),
    ("Contoso Pharmaceuticals", "contoso.example", "Healthcare"),
    ("Fabrikam Robotics", "fabrikam.example", "Manufacturing"),
    ("Tailspin Air", "tailspin.example", "Aviation"),
    ("Litware Analytics", "litware.example", "Software"),
    (
        "Adventure Works Cycles",
        "adventure-works.example",
        "Retail",
    ),
    ("Proseware Health", "proseware.example", "Healthcare"),
    ("Wingtip Logistics", "wingtip.example", "Logistics"),
];

/// (first, last, email, phone, title, company index, tags)
const CONTACTS: &[(&str, &str, &str, &str, &str, usize, &str)] = &[
    (
        "Maria",
        "Anders",
        "maria.anders@northwind.example",
        "+49 30 555 0101",
        "Purchasing Manager",
        0,
        "decision-maker,vip",
    ),
    (
        "Thomas",
        "Hardy",
        "thomas.hardy@northwind.example",
        "+44 20 555 0102",
        "Sales Representative",
        0,
        "champion",
    ),
    (
        "Ana",
        "Trujillo",
        "ana.trujillo@contoso.example",
        "+52 55 555 0103",
        "Head of Procurement",
        1,
        "decision-maker",
    ),
    (
        "Antonio",
        "Moreno",
        "antonio.moreno@contoso.example",
        "+52 55 555 0104",
        "IT Director",
        1,
        "technical",
    ),
    (
        "Christina",
        "Berglund",
        "christina.berglund@fabrikam.example",
        "+46 8 555 0105",
        "Operations Lead",
        2,
        "champion,vip",
    ),
    (
        "Hanna",
        "Moos",
        "hanna.moos@fabrikam.example",
        "+49 621 555 0106",
        "CFO",
        2,
        "decision-maker,finance",
    ),
    (
        "Frederique",
        "Citeaux",
        "frederique.citeaux@tailspin.example",
        "+33 88 555 0107",
        "Fleet Manager",
        3,
        "technical",
    ),
    (
        "Martin",
        "Sommer",
        "martin.sommer@tailspin.example",
        "+34 91 555 0108",
        "VP Operations",
        3,
        "decision-maker",
    ),
    (
        "Laurence",
        "Lebihans",
        "laurence.lebihans@litware.example",
        "+33 91 555 0109",
        "CTO",
        4,
        "technical,vip",
    ),
    (
        "Elizabeth",
        "Lincoln",
        "elizabeth.lincoln@litware.example",
        "+1 604 555 0110",
        "Procurement Analyst",
        4,
        "",
    ),
    (
        "Victoria",
        "Ashworth",
        "victoria.ashworth@adventure-works.example",
        "+44 171 555 0111",
        "Store Operations",
        5,
        "champion",
    ),
    (
        "Patricio",
        "Simpson",
        "patricio.simpson@adventure-works.example",
        "+54 1 555 0112",
        "CEO",
        5,
        "decision-maker,vip",
    ),
    (
        "Francisco",
        "Chang",
        "francisco.chang@proseware.example",
        "+52 55 555 0113",
        "Clinical Systems Lead",
        6,
        "technical",
    ),
    (
        "Yang",
        "Wang",
        "yang.wang@proseware.example",
        "+41 21 555 0114",
        "Finance Director",
        6,
        "finance,decision-maker",
    ),
    (
        "Pedro",
        "Afonso",
        "pedro.afonso@wingtip.example",
        "+55 11 555 0115",
        "Logistics Coordinator",
        7,
        "",
    ),
    (
        "Elizabeth",
        "Brown",
        "elizabeth.brown@wingtip.example",
        "+44 171 555 0116",
        "Managing Director",
        7,
        "decision-maker",
    ),
];

/// (title, company, contact, stage, amount, currency, close in days, owner)
type DealRow = (
    &'static str,
    usize,
    usize,
    &'static str,
    f64,
    &'static str,
    i64,
    &'static str,
);
const DEALS: &[DealRow] = &[
    (
        "Northwind annual supply contract",
        0,
        0,
        "negotiation",
        184_000.0,
        "EUR",
        21,
        "sam",
    ),
    (
        "Northwind warehouse scanners",
        0,
        1,
        "proposal",
        42_500.0,
        "EUR",
        35,
        "sam",
    ),
    (
        "Contoso lab data platform",
        1,
        3,
        "qualified",
        230_000.0,
        "USD",
        60,
        "alex",
    ),
    (
        "Fabrikam predictive maintenance",
        2,
        4,
        "proposal",
        96_000.0,
        "EUR",
        28,
        "alex",
    ),
    (
        "Fabrikam finance dashboards",
        2,
        5,
        "won",
        38_000.0,
        "EUR",
        -10,
        "sam",
    ),
    (
        "Tailspin fleet telemetry",
        3,
        6,
        "lead",
        150_000.0,
        "EUR",
        90,
        "jordan",
    ),
    (
        "Litware data warehouse migration",
        4,
        8,
        "negotiation",
        310_000.0,
        "USD",
        14,
        "alex",
    ),
    (
        "Litware analyst seats",
        4,
        9,
        "lost",
        24_000.0,
        "USD",
        -30,
        "jordan",
    ),
    (
        "Adventure Works point of sale",
        5,
        10,
        "qualified",
        67_000.0,
        "USD",
        45,
        "sam",
    ),
    (
        "Proseware patient portal",
        6,
        12,
        "proposal",
        128_000.0,
        "USD",
        40,
        "jordan",
    ),
    (
        "Wingtip route optimisation",
        7,
        15,
        "lead",
        55_000.0,
        "GBP",
        75,
        "alex",
    ),
    (
        "Wingtip driver app",
        7,
        14,
        "won",
        31_000.0,
        "GBP",
        -5,
        "jordan",
    ),
];

/// (kind, subject, body, contact, deal, due in days, owner)
type ActivityRow = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    Option<usize>,
    Option<i64>,
    &'static str,
);
const ACTIVITIES: &[ActivityRow] = &[
    (
        "call",
        "Discovery call",
        "Maria confirmed budget for Q3 and wants volume pricing.",
        0,
        Some(0),
        None,
        "sam",
    ),
    (
        "email",
        "Sent revised pricing",
        "Volume tiers at 5% and 8%.",
        0,
        Some(0),
        None,
        "sam",
    ),
    (
        "task",
        "Send contract redlines",
        "Legal reviewed clauses 4 and 9.",
        0,
        Some(0),
        Some(2),
        "sam",
    ),
    (
        "meeting",
        "Scanner demo",
        "Thomas liked the rugged model.",
        1,
        Some(1),
        None,
        "sam",
    ),
    (
        "task",
        "Follow up on scanner trial",
        "",
        1,
        Some(1),
        Some(-1),
        "sam",
    ),
    (
        "call",
        "Lab platform scoping",
        "Antonio needs SSO and audit logs.",
        3,
        Some(2),
        None,
        "alex",
    ),
    (
        "task",
        "Prepare security questionnaire",
        "",
        3,
        Some(2),
        Some(5),
        "alex",
    ),
    (
        "note",
        "Budget owner",
        "Ana signs off purchases above 100k.",
        2,
        None,
        None,
        "alex",
    ),
    (
        "meeting",
        "Maintenance pilot review",
        "Pilot cut downtime by 12%.",
        4,
        Some(3),
        None,
        "alex",
    ),
    (
        "task",
        "Send pilot report to Hanna",
        "",
        5,
        Some(3),
        Some(3),
        "alex",
    ),
    (
        "call",
        "Telemetry intro",
        "Frederique wants a sandbox.",
        6,
        Some(5),
        None,
        "jordan",
    ),
    (
        "task",
        "Set up telemetry sandbox",
        "",
        6,
        Some(5),
        Some(7),
        "jordan",
    ),
    (
        "meeting",
        "Migration workshop",
        "Laurence approved the phased plan.",
        8,
        Some(6),
        None,
        "alex",
    ),
    (
        "task",
        "Final pricing approval",
        "Needs VP sign-off.",
        8,
        Some(6),
        Some(1),
        "alex",
    ),
    (
        "email",
        "POS requirements",
        "Victoria sent store counts.",
        10,
        Some(8),
        None,
        "sam",
    ),
    (
        "call",
        "Portal stakeholder call",
        "Yang asked for a phased payment plan.",
        13,
        Some(9),
        None,
        "jordan",
    ),
    (
        "task",
        "Draft phased payment proposal",
        "",
        13,
        Some(9),
        Some(4),
        "jordan",
    ),
    (
        "note",
        "Renewal next spring",
        "Driver app renewal expected in March.",
        15,
        Some(11),
        None,
        "jordan",
    ),
];

/// Inserts the sample data in one transaction, in the default tenant.
pub(crate) async fn seed(db: &Db) -> Result<(), CrmError> {
    let mut tx = db.pool().begin().await?;
    let now = now();
    let mut company_ids = Vec::new();
    for (name, domain, industry) in COMPANIES {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO companies (tenant, name, domain, industry, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(DEFAULT_TENANT)
        .bind(name)
        .bind(domain)
        .bind(industry)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        company_ids.push(id);
    }
    let mut contact_ids = Vec::new();
    for (first, last, email, phone, title, company, tags) in CONTACTS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (tenant, first_name, last_name, email, phone, title, company_id, tags, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(DEFAULT_TENANT)
        .bind(first)
        .bind(last)
        .bind(email)
        .bind(phone)
        .bind(title)
        .bind(company_ids[*company])
        .bind(tags)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        contact_ids.push(id);
    }
    let mut deal_ids = Vec::new();
    for (title, company, contact, stage, amount, currency, close, owner) in DEALS {
        let close = days_from_now(*close);
        // Amounts are whole currency units, so the cents are exact.
        #[allow(clippy::cast_possible_truncation)]
        let cents = (amount * 100.0).round() as i64;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deals (tenant, title, company_id, contact_id, stage, amount_cents, currency, expected_close, owner, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(DEFAULT_TENANT)
        .bind(title)
        .bind(company_ids[*company])
        .bind(contact_ids[*contact])
        .bind(stage)
        .bind(cents)
        .bind(currency)
        .bind(close.get(..10).unwrap_or(&close))
        .bind(owner)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        deal_ids.push(id);
    }
    for (kind, subject, body, contact, deal, due, owner) in ACTIVITIES {
        sqlx::query(
            "INSERT INTO activities (tenant, kind, subject, body, contact_id, deal_id, due_at, done, owner, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)",
        )
        .bind(DEFAULT_TENANT)
        .bind(kind)
        .bind(subject)
        .bind((!body.is_empty()).then_some(*body))
        .bind(contact_ids[*contact])
        .bind(deal.map(|d| deal_ids[d]))
        .bind(due.map(days_from_now))
        .bind(owner)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(
        companies = COMPANIES.len(),
        contacts = CONTACTS.len(),
        deals = DEALS.len(),
        activities = ACTIVITIES.len(),
        "seeded sample data"
    );
    Ok(())
}
