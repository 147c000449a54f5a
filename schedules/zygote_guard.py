"""Imported first by a crawl zygote that is to die with the process that started it
(schedules/zygote.py, ``start_zygote(die_with_parent=True)``): the kernel then kills it when
that process dies, however it dies, and each crawl forked from it gets SIGTERM in turn.

A parent that died before this request took hold is seen all the same: the zygote's "alive"
pipe, whose only writer was that parent (no crawl is forked before the imports end), is at
end of file and the fork server exits as its first step.
"""

from __future__ import annotations

import os
import signal

from schedules.survivors import signal_at_parent_death

signal_at_parent_death(signal.SIGKILL, os.getppid())
