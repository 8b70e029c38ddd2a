-- The API schema. It holds functions and types only, and nothing outside it
-- refers to it, so `discovery-wiring migrate` drops and rebuilds it whole, in
-- one transaction, on every deploy. Objects are created as discovery_owner,
-- which owns the tables in `migration`: every SECURITY DEFINER function then
-- runs with exactly the owner's rights.
DROP SCHEMA IF EXISTS discovery CASCADE;
CREATE SCHEMA discovery AUTHORIZATION discovery_owner;
REVOKE ALL ON SCHEMA discovery FROM public;
SET LOCAL ROLE discovery_owner;
