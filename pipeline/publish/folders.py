"""The publish root's folders, opened one name at a time without following symlinks.

Every write, rename and deletion under the root is relative to a folder descriptor
(openat-style), and each folder is opened from its parent with O_NOFOLLOW: a symlink planted
inside the root (`calendar -> /etc`) is refused by name, never written or pruned through,
even if it appears between a check and a write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections import OrderedDict
from collections.abc import Iterable
from typing import NoReturn

from pipeline.errors import PipelineError, display_path
from pipeline.fileread import read_sized

TEMP_SUFFIX = ".pipeline-tmp"  # staged files: `.<name>.<random>.pipeline-tmp`
# Folders kept open at once: a site has a folder per event page (100k), and a cron job's
# limit is often 1024 descriptors. The least recently used is closed, and opened again
# (from its parent, without following symlinks) when it is needed again.
MAX_OPEN_FOLDERS = 256
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SymlinkInRoot(PipelineError):
    """A folder of the publish root is a symbolic link: nothing is written through it."""


class RootFolders:
    """Descriptors of the root's folders by relative posix path ("" is the root itself)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)
        self.created: list[str] = []  # folders made by this run, parents first
        # Folders found missing: made without trying to open them first (a cold build's
        # 10k event folders were each looked up twice before their mkdir).
        self._missing: set[str] = set()
        self._pid = os.getpid()
        # The root itself may be a symlink (a deployment's choice); what is inside may not.
        self._fds: OrderedDict[str, int] = OrderedDict(
            [("", os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))])

    def close(self) -> None:
        """Close every descriptor."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def shown(self, path: str) -> str:
        """`path` under the root as the user would type it."""
        return display_path(os.path.join(self.root, path)) if path else display_path(self.root)

    def fd(self, folder: str, create: bool = False) -> int | None:
        """The folder's descriptor; None when it is missing (made, with parents, if `create`)."""
        found = self._fds.get(folder)
        if found is not None:
            self._fds.move_to_end(folder)
            return found
        parent, _, name = folder.rpartition("/")
        parent_fd = self.fd(parent, create)
        if parent_fd is None:
            self._missing.add(folder)
            return None
        try:
            if folder in self._missing:
                raise FileNotFoundError(folder)
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            if not create:
                self._missing.add(folder)
                return None
            with contextlib.suppress(FileExistsError):  # made meanwhile: opened and checked below
                os.mkdir(name, 0o777, dir_fd=parent_fd)
                self.created.append(folder)
            fd = self._open_existing(parent_fd, folder, name)
        except OSError as error:
            self._refuse(parent_fd, folder, name, error)
        self._missing.discard(folder)
        self._fds[folder] = fd
        while len(self._fds) > MAX_OPEN_FOLDERS:  # the root (first in) is never closed
            oldest = next(key for key in self._fds if key)
            os.close(self._fds.pop(oldest))
        return fd

    def _open_existing(self, parent_fd: int, folder: str, name: str) -> int:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except OSError as error:
            self._refuse(parent_fd, folder, name, error)

    def _refuse(self, parent_fd: int, folder: str, name: str, error: OSError) -> NoReturn:
        """Say why `folder` cannot be used: a symlink, a file, or the OS's reason."""
        try:
            mode = os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
        except OSError:
            mode = 0
        if stat.S_ISLNK(mode) or error.errno == errno.ELOOP:
            raise SymlinkInRoot(f"{self.shown(folder)} is a symbolic link; the publish step "
                                "never writes or deletes through one: replace it with a "
                                "folder (or remove it)") from None
        if error.errno == errno.ENOTDIR:
            raise PipelineError(f"cannot publish under {self.shown(folder)}: it is a file "
                                "where a folder is needed; move it away") from None
        raise error

    def split(self, path: str, create: bool = False) -> tuple[int | None, str]:
        """The descriptor of `path`'s folder (None: missing) and its last name."""
        folder, _, name = path.rpartition("/")
        return self.fd(folder, create), name

    def read(self, path: str) -> bytes | None:
        """The bytes of the regular file at `path`; None when missing or a symlink."""
        fd, name = self.split(path)
        if fd is None:
            return None
        try:
            handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:  # a symlinked file is replaced, never read through
                return None
            raise
        try:
            status = os.fstat(handle)
            if stat.S_ISDIR(status.st_mode):
                raise PipelineError(f"cannot publish {self.shown(path)}: a folder is in the "
                                    "way; move it away")
            return read_sized(handle, status.st_size)  # no file object: runs per artifact
        finally:
            os.close(handle)

    def is_file(self, path: str) -> bool:
        """Whether `path` is a regular file (not a symlink) in a folder that is no symlink."""
        fd, name = self.split(path)
        if fd is None:
            return False
        try:
            return stat.S_ISREG(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def names(self, folder: str) -> frozenset[str]:
        """The names in `folder` (none when missing)."""
        fd = self.fd(folder)
        return frozenset(os.listdir(fd)) if fd is not None else frozenset()

    def stage(self, path: str, data: bytes, mode: int, sync: bool = True) -> str:
        """Write `data` to a new temp dot-file beside `path`; return the temp's path."""
        fd, name = self.split(path, create=True)
        assert fd is not None  # created
        # O_EXCL never follows or reuses an existing name: a planted one gets a random name.
        temp = f".{name}.{self._pid}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        while True:
            try:
                handle = os.open(temp, flags, mode, dir_fd=fd)
                break
            except FileExistsError:
                temp = f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        folder = path.rpartition("/")[0]
        staged = f"{folder}/{temp}" if folder else temp
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(handle, view):]
                os.fchmod(handle, mode)  # the exact mode: not narrowed by the umask
                if sync:
                    os.fsync(handle)
            finally:
                os.close(handle)
        except BaseException:
            self.unlink_all([staged])
            raise
        return staged

    def replace(self, temp: str, path: str) -> None:
        """Rename the staged `temp` over `path` (same folder): readers see old or new."""
        fd, name = self.split(path)
        os.replace(temp.rpartition("/")[2], name, src_dir_fd=fd, dst_dir_fd=fd)

    def unlink(self, path: str) -> None:
        """Delete the file at `path` if it is there."""
        fd, name = self.split(path)
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=fd)

    def unlink_all(self, paths: Iterable[str]) -> None:
        """Delete each of `paths` that is there."""
        for path in paths:
            self.unlink(path)

    def remove_empty(self, folder: str) -> None:
        """Remove `folder` and then its parents below the root while they are empty."""
        while folder:
            parent, _, name = folder.rpartition("/")
            parent_fd = self.fd(parent)
            if parent_fd is None:  # never None-relative: that would be the working folder
                return
            try:
                os.rmdir(name, dir_fd=parent_fd)
            except OSError:  # not empty (user files), gone, or not ours to remove
                return
            fd = self._fds.pop(folder, None)
            if fd is not None:
                os.close(fd)
            folder = parent

    def fsync(self, folder: str) -> None:
        """Make renames and deletions in `folder` durable (POSIX needs the folder fsynced)."""
        fd = self.fd(folder)
        if fd is not None:
            os.fsync(fd)

    def remove_created(self) -> None:
        """Undo the folders this run made (a failed staging leaves nothing behind)."""
        for folder in reversed(self.created):
            parent, _, name = folder.rpartition("/")
            fd = self._fds.pop(folder, None)
            if fd is not None:
                os.close(fd)
            parent_fd = self.fd(parent)
            if parent_fd is not None:
                with contextlib.suppress(OSError):
                    os.rmdir(name, dir_fd=parent_fd)
        self.created.clear()
