-- One row per tenant (engagement) as measured by this build (measured_at):
-- its names, the ten counts of discovery.wiring_health under the same names,
-- its health_status and why, the pending records, and totals.
with

engagements as (
    select * from {{ ref('int_tenants') }}
),

gaps as (
    select * from {{ ref('int_wiring_gaps') }}
),

asset_lineage as (
    select * from {{ ref('int_asset_lineage') }}
),

raw_record_status as (
    select * from {{ ref('int_raw_record_status') }}
),

gap_counts as (
    select
        client_account_id,
        engagement_id,
        count(*) filter (where check_name = 'assets_missing_discovery_flow_id')
            as assets_missing_discovery_flow_id,
        count(*) filter (where check_name = 'assets_with_unknown_discovery_flow_id')
            as assets_with_unknown_discovery_flow_id,
        count(*) filter (where check_name = 'assets_with_mismatched_master_flow_id')
            as assets_with_mismatched_master_flow_id,
        count(*) filter (where check_name = 'assets_missing_raw_import_id')
            as assets_missing_raw_import_id,
        count(*) filter (where check_name = 'assets_with_orphan_raw_ref')
            as assets_with_orphan_raw_ref,
        count(*) filter (where check_name = 'links_disagree')
            as links_disagree,
        count(*) filter (where check_name = 'raw_records_missing_asset_id')
            as raw_records_missing_asset_id,
        count(*) filter (where check_name = 'processed_records_missing_asset_id')
            as processed_records_missing_asset_id,
        count(*) filter (where check_name = 'raw_with_orphan_asset_ref')
            as raw_with_orphan_asset_ref,
        count(*) filter (where check_name = 'assets_with_legacy_flow_id_only')
            as assets_with_legacy_flow_id_only
    from gaps
    group by client_account_id, engagement_id
),

asset_totals as (
    select
        client_account_id,
        engagement_id,
        count(*) filter (where not is_deleted) as total_assets,
        count(*) filter (where is_deleted) as deleted_assets
    from asset_lineage
    group by client_account_id, engagement_id
),

raw_record_totals as (
    select
        client_account_id,
        engagement_id,
        count(*) as total_raw_records,
        count(asset_id) as linked_raw_records,
        count(*) filter (where is_pending) as raw_records_pending
    from raw_record_status
    group by client_account_id, engagement_id
),

joined as (
    select
        engagements.client_account_id,
        engagements.engagement_id,
        engagements.client_account_name,
        engagements.engagement_name,
        coalesce(gap_counts.assets_missing_discovery_flow_id, 0)
            as assets_missing_discovery_flow_id,
        coalesce(gap_counts.assets_with_unknown_discovery_flow_id, 0)
            as assets_with_unknown_discovery_flow_id,
        coalesce(gap_counts.assets_with_mismatched_master_flow_id, 0)
            as assets_with_mismatched_master_flow_id,
        coalesce(gap_counts.assets_missing_raw_import_id, 0)
            as assets_missing_raw_import_id,
        coalesce(gap_counts.assets_with_orphan_raw_ref, 0)
            as assets_with_orphan_raw_ref,
        coalesce(gap_counts.links_disagree, 0) as links_disagree,
        coalesce(gap_counts.raw_records_missing_asset_id, 0)
            as raw_records_missing_asset_id,
        coalesce(gap_counts.processed_records_missing_asset_id, 0)
            as processed_records_missing_asset_id,
        coalesce(gap_counts.raw_with_orphan_asset_ref, 0)
            as raw_with_orphan_asset_ref,
        coalesce(gap_counts.assets_with_legacy_flow_id_only, 0)
            as assets_with_legacy_flow_id_only,
        gap_counts.engagement_id is null as has_no_gap,
        coalesce(raw_record_totals.raw_records_pending, 0) as raw_records_pending,
        coalesce(asset_totals.total_assets, 0) as total_assets,
        coalesce(asset_totals.deleted_assets, 0) as deleted_assets,
        coalesce(raw_record_totals.total_raw_records, 0) as total_raw_records,
        coalesce(raw_record_totals.linked_raw_records, 0) as linked_raw_records
    from engagements
    left join gap_counts
        on
            engagements.client_account_id = gap_counts.client_account_id
            and engagements.engagement_id = gap_counts.engagement_id
    left join asset_totals
        on
            engagements.client_account_id = asset_totals.client_account_id
            and engagements.engagement_id = asset_totals.engagement_id
    left join raw_record_totals
        on
            engagements.client_account_id = raw_record_totals.client_account_id
            and engagements.engagement_id = raw_record_totals.engagement_id
),

final as (
    select
        client_account_id,
        engagement_id,
        client_account_name,
        engagement_name,
        assets_missing_discovery_flow_id,
        assets_with_unknown_discovery_flow_id,
        assets_with_mismatched_master_flow_id,
        assets_missing_raw_import_id,
        assets_with_orphan_raw_ref,
        links_disagree,
        raw_records_missing_asset_id,
        processed_records_missing_asset_id,
        raw_with_orphan_asset_ref,
        assets_with_legacy_flow_id_only,
        case when has_no_gap then 'healthy' else 'unhealthy' end as health_status,
        assets_missing_discovery_flow_id + assets_with_unknown_discovery_flow_id
        + assets_with_mismatched_master_flow_id + assets_missing_raw_import_id
        + assets_with_orphan_raw_ref + links_disagree + raw_records_missing_asset_id
        + processed_records_missing_asset_id + raw_with_orphan_asset_ref
        + assets_with_legacy_flow_id_only as gaps_total,
        nullif(concat_ws(
            ', ',
            'assets_missing_discovery_flow_id: ' || nullif(assets_missing_discovery_flow_id, 0),
            'assets_with_unknown_discovery_flow_id: ' || nullif(assets_with_unknown_discovery_flow_id, 0),
            'assets_with_mismatched_master_flow_id: ' || nullif(assets_with_mismatched_master_flow_id, 0),
            'assets_missing_raw_import_id: ' || nullif(assets_missing_raw_import_id, 0),
            'assets_with_orphan_raw_ref: ' || nullif(assets_with_orphan_raw_ref, 0),
            'links_disagree: ' || nullif(links_disagree, 0),
            'raw_records_missing_asset_id: ' || nullif(raw_records_missing_asset_id, 0),
            'processed_records_missing_asset_id: ' || nullif(processed_records_missing_asset_id, 0),
            'raw_with_orphan_asset_ref: ' || nullif(raw_with_orphan_asset_ref, 0),
            'assets_with_legacy_flow_id_only: ' || nullif(assets_with_legacy_flow_id_only, 0)
        ), '') as unhealthy_because,
        raw_records_pending,
        total_assets,
        deleted_assets,
        total_raw_records,
        linked_raw_records,
        round(cast(linked_raw_records as numeric) / nullif(total_raw_records, 0), 4)
            as linked_share,
        {{ measured_at() }} as measured_at
    from joined
)

select * from final
