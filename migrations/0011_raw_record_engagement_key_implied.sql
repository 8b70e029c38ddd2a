-- A raw record's engagement is checked once, by its data import's key.
--
-- raw_import_records_data_import_fkey already requires a data import of the
-- same client account and engagement (data_import_id is NOT NULL), and that
-- data import's own key requires the engagement: the record's separate key
-- to engagements could never reject what the import's key accepts. It cost
-- one more key check for each record loaded, and again for each record the
-- create call updates in the transaction that loaded it (PostgreSQL checks a
-- row's keys again on UPDATE when the same transaction inserted it): the CLI
-- path, which loads and creates in one transaction. 100,000 records through
-- the CLI, alternating with and without it in one database: 22.9 and 21.3 s
-- with, 22.1 and 20.8 s without (loading 3.8-4.1 s against 3.4-3.5 s).
-- A record written with an engagement that is not its data import's is still
-- refused (23503), by the data-import key (and, when it carries a master
-- flow, by the master-flow key too).
-- depends: 0010_wiring_check_in_the_call

ALTER TABLE migration.raw_import_records
DROP CONSTRAINT raw_import_records_engagement_fkey;
