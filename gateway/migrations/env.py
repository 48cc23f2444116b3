from gateway.models import Base
from rac_shared.migrations import run_env

run_env(Base.metadata)
