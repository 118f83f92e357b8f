"""Errors that reach users: one clear line naming the file or field at fault."""


class DvfoError(Exception):
    """Base class of every error the project raises on purpose (bad input, bad configuration)."""


class ConfigError(DvfoError):
    """A configuration, parameter or profile file is missing or malformed."""


class MessageDefinitionError(DvfoError):
    """A ``.msg`` definition cannot be parsed or names an unknown type."""


class DeviceError(DvfoError):
    """The device layer cannot read or set what was asked (missing file, value not in table)."""


class PayloadError(DvfoError):
    """A feature map payload is malformed: wrong shape, dtype, indices, or corrupt bytes."""


class ImageError(ConfigError):
    """An image message cannot be converted: unsupported encoding or format, or a malformed buffer.

    ``encoding`` is the message's ``encoding`` (``sensor_msgs/Image``) or ``format``
    (``sensor_msgs/CompressedImage``), so a node can report each bad one once.
    """

    def __init__(self, message: str, encoding: str = "") -> None:
        super().__init__(message)
        self.encoding = str(encoding)
