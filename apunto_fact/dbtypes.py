"""Column types shared by the models."""
from decimal import Decimal

import sqlalchemy as sa


class Money(sa.types.TypeDecorator):
    """An exact Decimal: NUMERIC(18, 6) on PostgreSQL, text on SQLite.

    SQLite has no decimal type (it would go through float), so amounts are stored there as
    their exact string form.
    """

    impl = sa.String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(18, 6, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else tidy(Decimal(str(value)))


def tidy(value):
    """Drop trailing zeros (NUMERIC(18,6) pads them) without scientific notation.

    So 1250.500000 from PostgreSQL and "1250.50" from SQLite both read as 1250.5.
    """
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value
