"""Before any job runs: do the profile's servers answer? A standalone master that is down makes
Spark retry for a minute and then fail far from the cause; a JDBC catalog without its driver or
its database, or a REST catalog server that is down, fails at the first table. These are said
here, naming the profile key to fix.
"""

from __future__ import annotations

import os
import re
import socket
from urllib.parse import urlsplit

from sparkplate.profiles import Profile

STANDALONE = re.compile(r"^spark://(?P<hosts>.+)$")


def master_timeout() -> float:
    return float(os.environ.get("SPARKPLATE_MASTER_TIMEOUT", "10"))


def check_master(profile: Profile, master: str) -> None:
    """A standalone master (spark://host:port, or several for standby masters) must accept a
    connection within SPARKPLATE_MASTER_TIMEOUT seconds (default 10). Other masters (local,
    yarn, k8s) are left to Spark."""
    standalone = STANDALONE.match(master)
    if not standalone:
        return
    timeout, causes = master_timeout(), []
    for address in standalone["hosts"].split(","):
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            causes.append(f"{address}: no port")
            continue
        refused = why_no_connection(host, int(port), timeout)
        if refused is None:
            return
        causes.append(f"{address}: {refused}")
    raise profile.error(
        f"the Spark master {master} does not answer ({'; '.join(causes)}; waited up to "
        f"{timeout:g} s)",
        key="master",
        fix="start the master (and a worker), or correct the URL; SPARKPLATE_MASTER_TIMEOUT "
        "gives it longer; --profile local runs on this machine",
    )


def check_rest_catalog(profile: Profile, uri: str) -> None:
    """A REST catalog's server accepts a connection within SPARKPLATE_MASTER_TIMEOUT seconds.
    Only the connection: what the server answers (its auth, its prefix) is Iceberg's to say."""
    try:
        where = urlsplit(uri)
        port = where.port or (443 if where.scheme == "https" else 80)
        host = where.hostname
    except ValueError:
        host = None
    if not host or where.scheme not in ("http", "https"):
        raise profile.error(
            f"the REST catalog's uri {uri!r} is not an http(s) URL",
            key="catalog.uri",
            fix="set uri: http://HOST:PORT (the server's base URL)",
        )
    timeout = master_timeout()
    refused = why_no_connection(host, port, timeout)
    if refused is not None:
        raise profile.error(
            f"the REST catalog at {uri} cannot be reached ({refused}; waited up to {timeout:g} s)",
            key="catalog.uri",
            fix="start the catalog server or correct the uri",
        )


def why_no_connection(host: str, port: int, timeout: float) -> str | None:
    """None when host:port accepts a TCP connection within `timeout`, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return err.strerror or str(err)


def check_jdbc_catalog(spark, profile: Profile, properties: dict[str, str]) -> None:
    """A JDBC catalog's driver is on the driver's classpath and its database answers."""
    uri = properties.get("uri", "")
    jvm = spark.sparkContext._jvm
    try:
        jvm.java.sql.DriverManager.getDriver(uri)
    except Exception as err:
        raise profile.error(
            f"no JDBC driver for the catalog's uri {uri} ({java_cause(err)})",
            key="packages",
            fix="add the database's JDBC driver to `packages`, e.g. "
            "org.postgresql:postgresql:42.7.8 for jdbc:postgresql:",
        ) from err
    credentials = jvm.java.util.Properties()
    for key in ("user", "password"):
        if f"jdbc.{key}" in properties:
            credentials.setProperty(key, properties[f"jdbc.{key}"])
    try:
        jvm.java.sql.DriverManager.getConnection(uri, credentials).close()
    except Exception as err:
        raise profile.error(
            f"the catalog's database at {uri} cannot be reached: {java_cause(err)}",
            key="catalog.uri",
            fix="start the database or correct the uri; check jdbc.user and jdbc.password",
        ) from err


def java_cause(err: Exception) -> str:
    """The innermost Java exception's class and message, else the error's first line."""
    java = getattr(err, "java_exception", None)
    if java is None:
        return (str(err).strip().splitlines() or [repr(err)])[0]
    while java.getCause() is not None:
        java = java.getCause()
    return f"{java.getClass().getSimpleName()}: {java.getMessage()}"
