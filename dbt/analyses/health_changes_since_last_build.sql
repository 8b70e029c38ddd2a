-- What changed in health since the build before the latest: each tenant
-- whose status or number of gaps changed, before and after.
select
    client_account_name,
    engagement_name,
    previous_health_status,
    health_status,
    previous_gaps_total,
    gaps_total,
    gaps_change,
    unhealthy_because,
    previous_measured_at,
    measured_at
from discovery_health.wiring_health_history
where
    measured_at = (select max(latest.measured_at) from discovery_health.wiring_health_history as latest)
    and (health_status_changed or gaps_change <> 0)
order by abs(gaps_change) desc, client_account_name asc, engagement_name asc
