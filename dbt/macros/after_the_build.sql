{#- Every data test of the project calls this: it makes the test depend on
    `wiring_builds`, the last model of every build, so that dbt runs the
    tests once every model is built and no failing test skips a model (dbt
    only makes a model wait for a test when the model descends from every
    node the test depends on, and nothing descends from `wiring_builds`).
    A build on data that breaks an invariant therefore still builds every
    mart and the history, then reports each broken invariant. -#}
{% macro after_the_build() -%}
    /* runs after {{ ref('wiring_builds') }} */
{%- endmacro %}

{#- The time a build describes: when it started (UTC), the same for every
    model of one `dbt build`. -#}
{% macro measured_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00' as timestamptz)
{%- endmacro %}
