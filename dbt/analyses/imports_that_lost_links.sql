-- Which imports have lost links: raw records or assets of the import whose
-- link is broken (as of the latest build), with what still holds.
select distinct
    client_account_name,
    engagement_name,
    import_name,
    filename,
    data_import_id,
    total_records,
    records_linked,
    records_link_broken,
    assets_link_broken,
    measured_at
from discovery_health.import_outcomes
where records_link_broken > 0 or assets_link_broken > 0
order by records_link_broken desc, assets_link_broken desc, client_account_name asc, import_name asc
