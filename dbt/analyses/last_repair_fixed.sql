-- What the last repair fixed: the gaps that the latest build to find fewer
-- gaps no longer found, by tenant and import, with when each appeared.
select
    client_account_name,
    engagement_name,
    check_name,
    reference_kind,
    object_type,
    object_id,
    import_name,
    first_seen_at,
    resolved_at
from discovery_health.wiring_gaps_history
where resolved_at = (select max(fixed.resolved_at) from discovery_health.wiring_gaps_history as fixed)
order by client_account_name, engagement_name, check_name, object_id
