{#-
    "This column holds a primary key of that table, not its public ID": the
    discovery_flow_id / flow_id mix-up. Fails for every row of `model` whose
    `column_name` equals some `to.public_id` and no `to.primary_key` of its
    tenant (`tenant_column` on both sides: a reference to another tenant is
    tenant_consistent_reference's failure, and on Citus a lookup outside the
    tenant is a join off the distribution column, which it refuses).
-#}
{% test holds_primary_key_not_public_id(
    model, column_name, to, primary_key='id', public_id='flow_id', tenant_column='client_account_id'
) %}
    {{ after_the_build() }}
    {%- if not column_name -%}
        {{ exceptions.raise_compiler_error(
            "holds_primary_key_not_public_id: apply it to a column (column_name is required)") }}
    {%- endif -%}
    {%- if to is none or to is string -%}
        {{ exceptions.raise_compiler_error(
            "holds_primary_key_not_public_id: `to` must be a ref() or source(), got " ~ to) }}
    {%- endif -%}
    {%- if not primary_key or not public_id or primary_key == public_id -%}
        {{ exceptions.raise_compiler_error(
            "holds_primary_key_not_public_id: `primary_key` and `public_id` must name two different columns") }}
    {%- endif -%}

    with tested as (
        select * from {{ model }}
    )

    select child.*
    from tested as child
    where
        child.{{ column_name }} is not null
        and exists (
            select 1 from {{ to }} as public_ids
            where public_ids.{{ tenant_column }} = child.{{ tenant_column }}
                and public_ids.{{ public_id }} = child.{{ column_name }}
        )
        and not exists (
            select 1 from {{ to }} as primary_keys
            where primary_keys.{{ tenant_column }} = child.{{ tenant_column }}
                and primary_keys.{{ primary_key }} = child.{{ column_name }}
        )
{% endtest %}
