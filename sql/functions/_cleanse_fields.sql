-- Cleansing of one record's mapped fields: every string trimmed, an empty
-- string becomes null, and an IP address written with its prefix length
-- ("10.0.0.1/24", as NetBox exports it) keeps only the address.
CREATE FUNCTION discovery._cleanse_fields(p_fields jsonb) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT coalesce(jsonb_object_agg(
               kv.key,
               CASE
                   WHEN jsonb_typeof(kv.value) <> 'string' THEN kv.value
                   WHEN kv.key = 'ip_address'
                       THEN to_jsonb(nullif(regexp_replace(btrim(kv.value #>> '{}'), '/\d{1,3}$', ''), ''))
                   ELSE to_jsonb(nullif(btrim(kv.value #>> '{}'), ''))
               END), '{}'::jsonb)
      FROM jsonb_each(p_fields) AS kv;
$$;
