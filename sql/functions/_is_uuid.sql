-- True when the text is a UUID the uuid type accepts (hex digits in the 8-4-4-4-12
-- form, hyphens optional, braces around the whole or none), so that a
-- payload's bad UUID is reported as WR005 instead of failing a cast.
CREATE FUNCTION discovery._is_uuid(p_value text) RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN p_value ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
OR p_value ~* '^\{[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}$';
