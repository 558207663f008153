"""The one partition dimension: discipline (registered from the seed source)."""

import dagster as dg

discipline_partitions = dg.DynamicPartitionsDefinition(name="discipline")
