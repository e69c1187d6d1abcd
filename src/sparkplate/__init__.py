"""sparkplate: the runtime behind paved-path Spark + Iceberg pipelines."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sparkplate")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
