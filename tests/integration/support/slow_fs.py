"""A file system that hangs: one file, `config`, whose reads never return, as a network
file system whose server went away. Each read is logged (a line in LOG) before it hangs.

usage: python3 slow_fs.py MOUNTPOINT LOG   (Debian's python3 with python3-fusepy)
"""
import errno
import stat
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations


class Hung(Operations):
    def __init__(self, log):
        self.log = log
        self.forever = threading.Event()

    def getattr(self, path, fh=None):
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
        if path == "/config":
            return dict(st_mode=stat.S_IFREG | 0o644, st_nlink=1, st_size=64)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "config"]

    def read(self, path, size, offset, fh):
        with open(self.log, "a") as log:
            log.write(f"read {path}\n")
        self.forever.wait()
        return b""


FUSE(Hung(sys.argv[2]), sys.argv[1], foreground=True, nothreads=False, allow_other=True)
