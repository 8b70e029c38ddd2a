{#-
    A handled raw record is linked unless its outcome says it may not be
    (DESIGN.md: conflict and invalid records have no asset). Fails for every
    row of `model` whose `processed_column` is true, whose `column_name` (the
    link) is null, and whose `outcome_column` is not one of `unlinked_outcomes`
    (a null outcome included): wiring_health's processed_records_missing_asset_id.
-#}
{% test linked_when_processed(
    model, column_name, processed_column='is_processed',
    outcome_column='processing_status', unlinked_outcomes=['conflict', 'invalid']
) %}
    {{ after_the_build() }}
    {%- if not column_name -%}
        {{ exceptions.raise_compiler_error(
            "linked_when_processed: apply it to the link column (column_name is required)") }}
    {%- endif -%}
    {%- if unlinked_outcomes is string or unlinked_outcomes | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "linked_when_processed: `unlinked_outcomes` must be a non-empty list") }}
    {%- endif -%}

    select * from {{ model }}
    where
        {{ processed_column }}
        and {{ column_name }} is null
        and coalesce({{ outcome_column }} not in (
            {%- for outcome in unlinked_outcomes -%}
                '{{ outcome }}'{% if not loop.last %}, {% endif %}
            {%- endfor -%}
        ), true)
{% endtest %}
