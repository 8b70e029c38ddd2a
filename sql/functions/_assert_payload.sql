-- WR005 unless p_payload is a JSON array of at most 50,000 objects.
CREATE FUNCTION discovery._assert_payload(p_payload jsonb, p_argument text)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    v_length integer;
    v_bad integer;
BEGIN
    IF p_payload IS NULL OR jsonb_typeof(p_payload) <> 'array' THEN
        PERFORM discovery._raise(
            'WR005', format('%s must be a JSON array', p_argument),
            format('%s is %s', p_argument, coalesce(jsonb_typeof(p_payload), 'null')),
            'Pass a JSON array of objects, one per item.');
    END IF;
    v_length := jsonb_array_length(p_payload);
    IF v_length > 50000 THEN
        PERFORM discovery._raise(
            'WR005', format('%s holds more than 50,000 elements', p_argument),
            format('%s has %s elements', p_argument, v_length),
            'Split the work into several calls of at most 50,000 elements (the Python client does).');
    END IF;
    SELECT e.ordinality::integer INTO v_bad
      FROM jsonb_array_elements(p_payload) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value) <> 'object'
     ORDER BY e.ordinality
     LIMIT 1;
    IF v_bad IS NOT NULL THEN
        PERFORM discovery._raise(
            'WR005', format('%s must hold only JSON objects', p_argument),
            format('element %s of %s is %s', v_bad, p_argument, jsonb_typeof(p_payload -> (v_bad - 1))),
            'Make every element a JSON object.');
    END IF;
    RETURN v_length;
END
$$;
