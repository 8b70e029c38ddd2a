-- The import's approved mappings as cleansing rules (discovery._cleansing_sql):
-- {normalised source field: {target, priority, unit, value_key}}, where the
-- source field is normalised as the cleansing normalises a record's keys
-- (every kind of whitespace trimmed, lower case).
CREATE FUNCTION discovery._mapping_rules(p_client_account_id uuid, p_data_import_id uuid) RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_rules jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(lower(discovery._trim(m.source_field)),
                                     jsonb_strip_nulls(jsonb_build_object(
                                         'target', m.target_field, 'priority', m.priority, 'unit', m.unit,
                                         'value_key', m.value_key))), '{}'::jsonb)
      INTO v_rules
      FROM migration.import_field_mappings AS m
     WHERE m.data_import_id = p_data_import_id
       AND m.client_account_id = p_client_account_id
       AND m.status = 'approved';
    RETURN v_rules;
END
$$;
