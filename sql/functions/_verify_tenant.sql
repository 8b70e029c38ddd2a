-- Brings a tenant's counters back in line with its rows (a restore in replica
-- mode bypasses the triggers that keep them) and, when a check of every row
-- finds no wiring gap, marks the tenant verified again
-- (migration.tenants_unverified), so that wiring_health and the list_*
-- functions go back to their fast paths. Returns whether it is verified.
CREATE FUNCTION discovery._verify_tenant(p_client_account_id uuid, p_engagement_id uuid) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM migration.asset_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id;
    INSERT INTO migration.asset_counts (
        client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key, live
    )
    SELECT a.client_account_id, a.engagement_id,
           coalesce(a.discovery_flow_id, '00000000-0000-0000-0000-000000000000'::uuid),
           left(coalesce(a.asset_type, ''), 200), left(a.status, 200), count(*)
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
     GROUP BY 1, 2, 3, 4, 5;

    DELETE FROM migration.record_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id;
    INSERT INTO migration.record_counts (
        client_account_id, engagement_id, data_import_id, outcome, with_warnings, records
    )
    SELECT r.client_account_id, r.engagement_id, r.data_import_id,
           migration.record_outcome(r.processing_status, r.is_processed),
           migration.has_warnings(r.validation_errors), count(*)
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.engagement_id = p_engagement_id
     GROUP BY 1, 2, 3, 4, 5;

    IF EXISTS (SELECT FROM discovery._wiring_gaps(p_client_account_id, p_engagement_id, TRUE) AS g
                WHERE g.gap <> 'raw_records_pending') THEN
        RETURN FALSE;
    END IF;
    DELETE FROM migration.tenants_unverified AS u
     WHERE u.client_account_id = p_client_account_id
       AND u.engagement_id = p_engagement_id;
    RETURN TRUE;
END
$$;
