-- One record's fields after cleansing, and the warnings and errors found on
-- the way (validation_errors objects: field, error, value, severity, source).
CREATE TYPE discovery.cleansed AS (
    fields jsonb,
    problems jsonb
);
