CREATE TABLE companies_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL DEFAULT 'default',
    name TEXT NOT NULL,
    domain TEXT,
    industry TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (tenant, name),
    UNIQUE (tenant, id)
);
CREATE TABLE contacts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL DEFAULT 'default',
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    title TEXT,
    company_id INTEGER,
    tags TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant, email),
    UNIQUE (tenant, id),
    FOREIGN KEY (tenant, company_id) REFERENCES companies (tenant, id)
);
CREATE TABLE deals_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL DEFAULT 'default',
    title TEXT NOT NULL,
    company_id INTEGER NOT NULL,
    contact_id INTEGER,
    stage TEXT NOT NULL CHECK (stage IN ('lead','qualified','proposal','negotiation','won','lost')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    currency TEXT NOT NULL,
    expected_close TEXT,
    owner TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant, id),
    FOREIGN KEY (tenant, company_id) REFERENCES companies (tenant, id),
    FOREIGN KEY (tenant, contact_id) REFERENCES contacts (tenant, id)
);
CREATE TABLE activities_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL DEFAULT 'default',
    kind TEXT NOT NULL CHECK (kind IN ('note','call','email','meeting','task')),
    subject TEXT NOT NULL,
    body TEXT,
    contact_id INTEGER,
    deal_id INTEGER,
    due_at TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL,
    created_at TEXT NOT NULL,
    FOREIGN KEY (tenant, contact_id) REFERENCES contacts (tenant, id),
    FOREIGN KEY (tenant, deal_id) REFERENCES deals (tenant, id)
);
CREATE TABLE idempotency_keys_new (
    tenant TEXT NOT NULL DEFAULT 'default',
    key TEXT NOT NULL,
    tool TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
);
INSERT INTO sqlite_sequence (name, seq) SELECT name || '_new', seq FROM sqlite_sequence WHERE name IN ('companies', 'contacts', 'deals', 'activities');
INSERT INTO companies_new (id, name, domain, industry, created_at)
    SELECT id, name, domain, industry, created_at FROM companies;
INSERT INTO contacts_new (id, first_name, last_name, email, phone, title, company_id, tags, created_at, updated_at)
    SELECT id, first_name, last_name, email, phone, title, company_id, tags, created_at, updated_at FROM contacts;
INSERT INTO deals_new (id, title, company_id, contact_id, stage, amount_cents, currency, expected_close, owner, created_at, updated_at)
    SELECT id, title, company_id, contact_id, stage, amount_cents, currency, expected_close, owner, created_at, updated_at FROM deals;
INSERT INTO activities_new (id, kind, subject, body, contact_id, deal_id, due_at, done, owner, created_at)
    SELECT id, kind, subject, body, contact_id, deal_id, due_at, done, owner, created_at FROM activities;
INSERT INTO idempotency_keys_new (key, tool, result, created_at)
    SELECT key, tool, result, created_at FROM idempotency_keys;
DROP TABLE activities;
DROP TABLE deals;
DROP TABLE contacts;
DROP TABLE companies;
DROP TABLE idempotency_keys;
ALTER TABLE companies_new RENAME TO companies;
ALTER TABLE contacts_new RENAME TO contacts;
ALTER TABLE deals_new RENAME TO deals;
ALTER TABLE activities_new RENAME TO activities;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
CREATE INDEX contacts_tenant_company ON contacts(tenant, company_id);
CREATE INDEX deals_tenant_stage ON deals(tenant, stage);
CREATE INDEX deals_tenant_company ON deals(tenant, company_id);
CREATE INDEX deals_tenant_contact ON deals(tenant, contact_id);
CREATE INDEX activities_tenant_due ON activities(tenant, due_at);
CREATE INDEX activities_tenant_contact ON activities(tenant, contact_id);
CREATE INDEX activities_tenant_deal ON activities(tenant, deal_id)
