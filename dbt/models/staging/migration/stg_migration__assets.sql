with

source as (
    select * from {{ source('migration', 'assets') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as asset_id,
        name as asset_name,
        asset_name as alternate_name,
        asset_type,
        hostname,
        fqdn,
        ip_address,
        mac_address,
        operating_system,
        os_version,
        cpu_cores,
        memory_gb,
        storage_gb,
        environment,
        location,
        datacenter,
        application_name,
        business_owner,
        technical_owner,
        department,
        criticality,
        custom_attributes,
        discovery_flow_id,
        master_flow_id,
        flow_id as legacy_flow_id,
        raw_import_records_id as raw_import_record_id,
        field_mappings_used,
        discovery_method,
        discovery_source,
        status as asset_status,
        created_at,
        updated_at,
        deleted_at,
        coalesce(discovery_method = 'flow_based', false) as is_flow_based,
        deleted_at is not null as is_deleted
    from source
)

select * from renamed
