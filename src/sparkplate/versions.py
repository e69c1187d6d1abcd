"""Engine versions, kept in one place. pyspark's range (3.5.x) is in pyproject.toml."""

SCALA_BINARY_VERSION = "2.12"
SPARK_MINOR_VERSION = "3.5"
# The newest Iceberg release whose Spark 3.5 runtime resolves and passes the WAP checks here.
ICEBERG_VERSION = "1.12.0"
ICEBERG_RUNTIME = (
    f"org.apache.iceberg:iceberg-spark-runtime-{SPARK_MINOR_VERSION}_{SCALA_BINARY_VERSION}"
    f":{ICEBERG_VERSION}"
)
