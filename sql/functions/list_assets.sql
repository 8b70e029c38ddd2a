-- One page of the tenant's live assets, newest first (created_at desc, id
-- desc): all of them, or those of one flow when p_flow_id (any flow ID) is
-- given. A page size above 200 is capped to 200.
CREATE FUNCTION discovery.list_assets(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_flow_id uuid DEFAULT NULL,
    p_page integer DEFAULT 1,
    p_page_size integer DEFAULT 50,
    p_asset_type text DEFAULT NULL,
    p_status text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    c_max_page_size CONSTANT integer := 200;
    v_discovery_flow_id uuid;
    v_page_size integer;
    v_total bigint;
    v_assets jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_page IS NULL OR p_page < 1 THEN
        PERFORM discovery._raise('WR006', 'page must be 1 or more', format('p_page=%s', p_page),
                                 'Pages are numbered from 1.');
    END IF;
    IF p_page_size IS NULL OR p_page_size < 1 THEN
        PERFORM discovery._raise('WR006', 'page size must be 1 or more', format('p_page_size=%s', p_page_size),
                                 format('Pass a page size from 1 to %s.', c_max_page_size));
    END IF;
    v_page_size := least(p_page_size, c_max_page_size);

    IF p_flow_id IS NOT NULL THEN
        SELECT f.discovery_flow_id INTO v_discovery_flow_id
          FROM discovery.resolve_flow(p_client_account_id, p_engagement_id, p_flow_id) AS f;
    END IF;

    SELECT count(*) INTO v_total
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND (v_discovery_flow_id IS NULL OR a.discovery_flow_id = v_discovery_flow_id)
       AND (p_asset_type IS NULL OR a.asset_type = p_asset_type)
       AND (p_status IS NULL OR a.status = p_status);

    SELECT coalesce(jsonb_agg(to_jsonb(page) ORDER BY page.created_at DESC, page.id DESC), '[]'::jsonb)
      INTO v_assets
      FROM (
        SELECT a.id, a.name, a.asset_name, a.asset_type, a.hostname, a.fqdn, a.ip_address,
               a.mac_address, a.operating_system, a.os_version, a.cpu_cores, a.memory_gb,
               a.storage_gb, a.environment, a.location, a.datacenter, a.application_name,
               a.business_owner, a.technical_owner, a.department, a.criticality,
               a.custom_attributes, a.discovery_flow_id, a.master_flow_id,
               a.raw_import_records_id, a.discovery_method, a.discovery_source, a.status,
               a.created_at, a.updated_at
          FROM migration.assets AS a
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND (v_discovery_flow_id IS NULL OR a.discovery_flow_id = v_discovery_flow_id)
           AND (p_asset_type IS NULL OR a.asset_type = p_asset_type)
           AND (p_status IS NULL OR a.status = p_status)
         ORDER BY a.created_at DESC, a.id DESC
         LIMIT v_page_size
        OFFSET (p_page::bigint - 1) * v_page_size
      ) AS page;

    RETURN jsonb_build_object(
        'assets', v_assets,
        'pagination', jsonb_build_object(
            'page', p_page,
            'page_size', v_page_size,
            'total_count', v_total,
            'total_pages', ceil(v_total::numeric / v_page_size)::bigint,
            'has_next', p_page::bigint * v_page_size < v_total,
            'has_prev', p_page > 1),
        'metadata', jsonb_build_object(
            'page_size_capped', p_page_size > c_max_page_size,
            'max_page_size', c_max_page_size),
        'filters', jsonb_build_object(
            'flow_id', p_flow_id,
            'discovery_flow_id', v_discovery_flow_id,
            'asset_type', p_asset_type,
            'status', p_status));
END
$$;
