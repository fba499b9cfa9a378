"""personal data encrypted at rest, the access log

People's phone numbers (until now plain text) are encrypted with the key ring's current key, each with its
keyed lookup hash; the new ``id_card`` is stored the same way; ``erased_at`` marks a person erased on
request; ``access_log`` records every read of unmasked personal data and every change of it (PIPL).

Revision ID: registry_0002
Revises: registry_0001
Create Date: 2026-12-02 15:00:00
"""
import sqlalchemy as sa
from alembic import context, op

import redprop.db.base

revision = 'registry_0002'
down_revision = 'registry_0001'
branch_labels = None
depends_on = None

_people = sa.table("people", sa.column("district", sa.String), sa.column("id", sa.String),
                   sa.column("phone", sa.String), sa.column("phone_hash", sa.String))


def _cipher():
    from redprop.config import load_settings
    from redprop.privacy.cipher import FieldCipher
    from redprop.privacy.keys import key_ring

    settings = context.config.attributes.get("settings") or load_settings()
    return FieldCipher(key_ring(settings))


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.alter_column('phone', existing_type=sa.String(length=20), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('phone_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_card', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('id_card_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('erased_at', redprop.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_people_phone_hash'), ['phone_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_id_card_hash'), ['id_card_hash'], unique=False)

    op.create_table('access_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('who', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('what', sa.String(length=200), nullable=False),
    sa.Column('why', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_subject', ['district', 'subject_id'], unique=False)
        batch_op.create_index('ix_access_log_who', ['district', 'who'], unique=False)

    _encrypt_plain_phones()


def _encrypt_plain_phones() -> None:
    """The phones stored before this revision, encrypted in place (nothing plain is left behind)."""
    from redprop.privacy.cipher import is_encrypted
    from redprop.services.registry.personal import TABLE, row_key

    bind = op.get_bind()
    rows = [r for r in bind.execute(sa.select(_people.c.district, _people.c.id, _people.c.phone)
                                    .where(_people.c.phone.is_not(None))) if not is_encrypted(r.phone)]
    if not rows:
        return
    cipher = _cipher()
    for r in rows:
        bind.execute(_people.update().where(_people.c.district == r.district, _people.c.id == r.id).values(
            phone=cipher.encrypt(r.phone, table=TABLE, row=row_key(r.district, r.id), field="phone"),
            phone_hash=cipher.lookup_hash(r.phone, field="phone")))


def _decrypt_phones() -> None:
    from redprop.privacy.cipher import is_encrypted
    from redprop.services.registry.personal import TABLE, row_key

    bind = op.get_bind()
    rows = [r for r in bind.execute(sa.select(_people.c.district, _people.c.id, _people.c.phone)
                                    .where(_people.c.phone.is_not(None))) if is_encrypted(r.phone)]
    if not rows:
        return
    cipher = _cipher()
    for r in rows:
        plain = cipher.decrypt(r.phone, table=TABLE, row=row_key(r.district, r.id), field="phone")
        bind.execute(_people.update().where(_people.c.district == r.district, _people.c.id == r.id)
                     .values(phone=plain[:20]))


def downgrade() -> None:
    # Back to plain phones (ID cards and the access log have no place in the older schema).
    _decrypt_phones()
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_who')
        batch_op.drop_index('ix_access_log_subject')
    op.drop_table('access_log')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_id_card_hash'))
        batch_op.drop_index(batch_op.f('ix_people_phone_hash'))
        batch_op.drop_column('erased_at')
        batch_op.drop_column('id_card_hash')
        batch_op.drop_column('id_card')
        batch_op.drop_column('phone_hash')
        batch_op.alter_column('phone', existing_type=sa.String(length=255), type_=sa.String(length=20),
                              existing_nullable=True)
