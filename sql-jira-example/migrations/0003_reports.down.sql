DROP TABLE invoices;
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE products;
DROP TABLE customers;
DELETE FROM schema_migrations WHERE version = 3
