-- Which tenants are unhealthy, by name, and why (as of the latest build).
select
    client_account_name,
    engagement_name,
    gaps_total,
    unhealthy_because,
    measured_at
from discovery_health.wiring_health
where health_status = 'unhealthy'
order by gaps_total desc, client_account_name asc, engagement_name asc
