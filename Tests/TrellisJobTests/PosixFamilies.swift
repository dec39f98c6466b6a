/// The families of a POSIX file-system conformance suite in the manner of
/// pjdfstest (open, chmod, chown, link, rename, unlink, mkdir, rmdir,
/// symlink, truncate, utimensat, mknod, mkfifo), as a Python program of our
/// own: each case prints one line, `family/case: outcome`, where the outcome
/// is `ok` with what the case observed (types, modes, owners, link counts,
/// sizes, whether times moved) or the errno it failed with. It runs as root
/// and switches to other uids in children; the test runs it in a local
/// folder and on the mount and compares the lines, so the local file
/// system is the reference rather than expectations written down here.
enum PosixFamilies {
    static let script = #"""
import ctypes, errno, os, socket, stat, sys, time

os.chdir(sys.argv[1])
os.umask(0)
libc = ctypes.CDLL(None, use_errno=True)
NOBODY, OTHER, GROUP = 65534, 65533, 65532
serial = 0

def fresh(prefix):
    global serial
    serial += 1
    return "%s%d" % (prefix, serial)

def describe(path):
    st = os.lstat(path)
    kind = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFIFO: "p", stat.S_IFSOCK: "s",
            stat.S_IFCHR: "c", stat.S_IFBLK: "b"}[stat.S_IFMT(st.st_mode)]
    text = "%s %04o %d:%d n%d" % (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_nlink)
    if kind == "f" or kind == "l":
        text += " s%d" % st.st_size
    if kind in "cb":
        text += " dev%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    return text

def as_user(uid, gid, action, groups=()):
    """Runs action in a child as uid:gid; its result, or the errno it failed with."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
            result = action()
            os.write(write, ("ok" + ("" if result is None else " " + str(result))).encode())
        except OSError as error:
            os.write(write, errno.errorcode.get(error.errno, str(error.errno)).encode())
        except BaseException as error:
            os.write(write, ("crash " + repr(error)).encode())
        os._exit(0)
    os.close(write)
    answer = os.read(read, 4096).decode()
    os.close(read)
    os.waitpid(pid, 0)
    return answer

def case(name, action, uid=0, gid=0, groups=()):
    if uid == 0:
        try:
            result = action()
            outcome = "ok" + ("" if result is None else " " + str(result))
        except OSError as error:
            outcome = errno.errorcode.get(error.errno, str(error.errno))
    else:
        outcome = as_user(uid, gid, action, groups)
    print("%s: %s" % (name, outcome))

def make(path, kind="f", mode=0o644, uid=0, gid=0):
    if kind == "f":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    elif kind == "d":
        os.mkdir(path, mode)
    elif kind == "p":
        os.mkfifo(path, mode)
    elif kind == "s":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
        sock.close()
        os.chmod(path, mode)
    elif kind == "c":
        os.mknod(path, stat.S_IFCHR | mode, os.makedev(1, 3))
    elif kind == "l":
        os.symlink("target", path)
    if kind != "l":
        os.chmod(path, mode)
    os.lchown(path, uid, gid)
    return path

def directory(mode=0o777, uid=0, gid=0):
    return make(fresh("dir"), "d", mode, uid, gid)

def moved(times, path, action, follow=False):
    """Which of a path's times (a, m, c) an action moved."""
    before = os.stat(path) if follow else os.lstat(path)
    # Not a timing check: a file system stamps times at a coarse clock (ext4's
    # ticks every few ms), so without a pause a moved time could read as unmoved.
    time.sleep(0.05)
    action()
    after = os.stat(path) if follow else os.lstat(path)
    return "".join(t for t in times if getattr(after, "st_%stime_ns" % t) != getattr(before, "st_%stime_ns" % t)) or "-"

def write(path, data=b"x", flags=os.O_WRONLY | os.O_APPEND):
    fd = os.open(path, flags)
    os.write(fd, data)
    os.close(fd)

def utimensat(path, times, nofollow=False):
    """times: None, or two (seconds, nanoseconds) pairs where nanoseconds may be UTIME_NOW / UTIME_OMIT."""
    class Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]
    pair = None if times is None else (Timespec * 2)(Timespec(*times[0]), Timespec(*times[1]))
    if libc.utimensat(-100, path.encode(), pair, 0x100 if nofollow else 0) != 0:
        raise OSError(ctypes.get_errno(), "utimensat")

UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
KINDS = ["f", "d", "p", "s", "c", "l"]

# open
d = directory()
case("open/creates with its mode and the caller's ids", lambda: (os.close(os.open(d + "/new", os.O_CREAT | os.O_WRONLY, 0o751)), describe(d + "/new"))[1])
case("open/creates as another user", lambda: (os.close(os.open(d + "/users", os.O_CREAT | os.O_WRONLY, 0o640)), describe(d + "/users"))[1], NOBODY, GROUP)
case("open/create moves the directory's times", lambda: moved("mc", d, lambda: os.close(os.open(d + "/timed", os.O_CREAT | os.O_WRONLY, 0o600))))
case("open/O_CREAT of an existing file keeps its times", lambda: moved("mc", d + "/new", lambda: os.close(os.open(d + "/new", os.O_CREAT | os.O_RDONLY, 0o600))))
case("open/O_EXCL on an existing name", lambda: os.open(d + "/new", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
make(d + "/dangling", "l")
case("open/O_EXCL on a dangling symlink", lambda: os.open(d + "/dangling", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
case("open/O_NOFOLLOW on a symlink", lambda: os.open(d + "/dangling", os.O_RDONLY | os.O_NOFOLLOW))
case("open/a missing name", lambda: os.open(d + "/missing", os.O_RDONLY))
case("open/through a file", lambda: os.open(d + "/new/x", os.O_RDONLY))
case("open/O_DIRECTORY on a file", lambda: os.open(d + "/new", os.O_RDONLY | os.O_DIRECTORY))
case("open/a directory for writing", lambda: os.open(d, os.O_WRONLY))
case("open/a name of 256 bytes", lambda: os.open(d + "/" + "x" * 256, os.O_CREAT | os.O_WRONLY, 0o600))
case("open/a name of 255 bytes", lambda: os.close(os.open(d + "/" + "y" * 255, os.O_CREAT | os.O_WRONLY, 0o600)))
os.symlink("loop2", d + "/loop1")
os.symlink("loop1", d + "/loop2")
case("open/a symlink loop", lambda: os.open(d + "/loop1", os.O_RDONLY))
for mode, flags, label in [(0o200, os.O_RDONLY, "read"), (0o400, os.O_WRONLY, "write"), (0o400, os.O_RDWR, "read-write"),
                           (0o444, os.O_RDONLY | os.O_TRUNC, "O_RDONLY|O_TRUNC")]:
    name = make(d + "/" + fresh("perm"), "f", mode, NOBODY, GROUP)
    case("open/%s without the permission as owner" % label, lambda: os.close(os.open(name, flags)), NOBODY, GROUP)
    case("open/%s without the permission as other" % label, lambda: os.close(os.open(name, flags)), OTHER, OTHER)
    case("open/%s as root" % label, lambda: os.close(os.open(name, flags)))
closed = make(fresh("closed"), "d", 0o700)
make(closed + "/inside", "f", 0o666)
case("open/below a directory without search permission", lambda: os.close(os.open(closed + "/inside", os.O_RDONLY)), NOBODY, GROUP)
case("open/O_CREAT in a directory without write permission", lambda: os.open(make(fresh("ro"), "d", 0o755) + "/x", os.O_CREAT | os.O_WRONLY, 0o600), NOBODY, GROUP)
full = make(d + "/full", "f", 0o666)
write(full, b"0123456789")
case("open/O_TRUNC empties a file and moves its times", lambda: moved("mc", full, lambda: os.close(os.open(full, os.O_WRONLY | os.O_TRUNC))))
case("open/O_TRUNC of an empty file moves its times", lambda: moved("mc", full, lambda: os.close(os.open(full, os.O_WRONLY | os.O_TRUNC))))
write(full, b"0123456789")
case("open/O_RDONLY|O_TRUNC with write permission", lambda: (os.close(os.open(full, os.O_RDONLY | os.O_TRUNC)), os.stat(full).st_size)[1])
make(d + "/fifo", "p", 0o666)
case("open/a FIFO for writing without a reader", lambda: os.open(d + "/fifo", os.O_WRONLY | os.O_NONBLOCK))
case("open/a FIFO for reading without a writer", lambda: os.close(os.open(d + "/fifo", os.O_RDONLY | os.O_NONBLOCK)))

# chmod
for kind in ["f", "d", "p", "s", "c"]:
    name = make(fresh("chmod" + kind), kind, 0o644, NOBODY, GROUP)
    case("chmod/%s by its owner" % kind, lambda: (os.chmod(name, 0o751), describe(name))[1], NOBODY, GROUP)
    case("chmod/%s by another user" % kind, lambda: os.chmod(name, 0o777), OTHER, OTHER)
    case("chmod/%s moves ctime only" % kind, lambda: moved("amc", name, lambda: os.chmod(name, 0o640)))
    case("chmod/%s by root" % kind, lambda: (os.chmod(name, 0o4755), describe(name))[1])
link = make(fresh("chmodlink"), "l")
target = make(fresh("target"), "f", 0o600, NOBODY, GROUP)
os.unlink(link); os.symlink(target, link)
case("chmod/through a symlink changes its target", lambda: (os.chmod(link, 0o604), describe(target))[1], NOBODY, GROUP)
outside = make(fresh("chmodgroup"), "f", 0o755, NOBODY, 0)
case("chmod/setgid by an owner outside the group", lambda: (os.chmod(outside, 0o2755), describe(outside))[1], NOBODY, GROUP)
case("chmod/setgid by an owner in the group", lambda: (os.chmod(outside, 0o2755), describe(outside))[1], NOBODY, GROUP, [0])
case("chmod/sticky on a file by its owner", lambda: (os.chmod(outside, 0o1755), describe(outside))[1], NOBODY, GROUP)
case("chmod/a missing name", lambda: os.chmod(fresh("missing"), 0o644))
case("chmod/below a directory without search permission", lambda: os.chmod(closed + "/inside", 0o600), NOBODY, GROUP)
for mode in [0o4777, 0o2777, 0o6777, 0o2767]:
    name = make(fresh("setid"), "f", mode, OTHER, OTHER)
    os.chmod(name, mode)
    case("chmod/a write by another user to %04o" % mode, lambda: (write(name), describe(name))[1], NOBODY, GROUP)
    os.chmod(name, mode)
    case("chmod/a write by root to %04o" % mode, lambda: (write(name), describe(name))[1])
    os.chmod(name, mode)
    case("chmod/a truncate by another user of %04o" % mode, lambda: (os.truncate(name, 3), describe(name))[1], NOBODY, GROUP)

# chown
for kind in ["f", "d", "p", "s", "c", "l"]:
    name = make(fresh("chown" + kind), kind, 0o644, NOBODY, GROUP)
    case("chown/%s by root" % kind, lambda: (os.lchown(name, OTHER, OTHER), describe(name))[1])
    case("chown/%s by root moves ctime only" % kind, lambda: moved("amc", name, lambda: os.lchown(name, NOBODY, GROUP)))
    case("chown/%s to another user by its owner" % kind, lambda: os.lchown(name, OTHER, -1), NOBODY, GROUP)
    case("chown/%s to its owner by another user" % kind, lambda: os.lchown(name, NOBODY, -1), OTHER, OTHER)
    case("chown/%s to its group by another user" % kind, lambda: os.lchown(name, -1, GROUP), OTHER, OTHER)
    case("chown/%s to a group of its owner's" % kind, lambda: (os.lchown(name, -1, OTHER), describe(name))[1], NOBODY, GROUP, [OTHER])
    case("chown/%s to a group its owner is not in" % kind, lambda: os.lchown(name, -1, 0), NOBODY, GROUP)
    case("chown/%s to itself by its owner" % kind, lambda: (os.lchown(name, NOBODY, -1), describe(name))[1], NOBODY, OTHER, [OTHER])
    case("chown/%s with -1 -1 by another user" % kind, lambda: os.lchown(name, -1, -1), OTHER, OTHER)
for mode in [0o4755, 0o2755, 0o2745, 0o6755, 0o6777]:
    for who, uid, gid, groups in [("root", 0, 0, ()), ("owner", NOBODY, GROUP, (OTHER,))]:
        name = make(fresh("chownsetid"), "f", mode, NOBODY, GROUP)
        os.chmod(name, mode)
        case("chown/%04o by %s to another group" % (mode, who), lambda: (os.chown(name, -1, OTHER), describe(name))[1], uid, gid, groups)
    name = make(fresh("chownsetiddir"), "d", mode, NOBODY, GROUP)
    os.chmod(name, mode)
    case("chown/directory %04o by root" % mode, lambda: (os.chown(name, OTHER, OTHER), describe(name))[1])
case("chown/below a directory without search permission", lambda: os.chown(closed + "/inside", NOBODY, -1), NOBODY, GROUP)
case("chown/a missing name", lambda: os.chown(fresh("missing"), 0, 0))

# link
for kind in ["f", "p", "s", "c", "l"]:
    d = directory()
    name = make(d + "/orig", kind, 0o644)
    case("link/%s counts two links" % kind, lambda: (os.link(name, d + "/second", follow_symlinks=False), describe(d + "/second"), describe(name))[1:])
    case("link/%s shares the inode" % kind, lambda: os.lstat(name).st_ino == os.lstat(d + "/second").st_ino)
    case("link/%s again moves the file's ctime and the directory's mtime and ctime" % kind,
         lambda: (moved("amc", name, lambda: os.link(name, d + "/third", follow_symlinks=False)), moved("mc", d, lambda: os.link(name, d + "/fourth", follow_symlinks=False))))
    case("link/%s onto an existing name" % kind, lambda: os.link(name, d + "/second", follow_symlinks=False))
    case("link/%s into another directory" % kind, lambda: (os.link(name, directory() + "/far", follow_symlinks=False), os.lstat(name).st_nlink)[1])
d = directory()
case("link/a directory", lambda: os.link(d, fresh("dirlink")))
case("link/a missing name", lambda: os.link(fresh("missing"), fresh("new")))
case("link/into a directory without write permission", lambda: os.link(make(fresh("l"), "f", 0o666), make(fresh("ro"), "d", 0o755) + "/x"), NOBODY, GROUP)
case("link/from below a directory without search permission", lambda: os.link(closed + "/inside", fresh("stolen")), NOBODY, GROUP)
case("link/into a missing directory", lambda: os.link(make(fresh("l"), "f"), fresh("missing") + "/x"))

# rename
for kind in KINDS:
    d = directory()
    name = make(d + "/a", kind, 0o644)
    inode = os.lstat(name).st_ino
    case("rename/%s within a directory" % kind, lambda: (os.rename(name, d + "/b"), os.lstat(d + "/b").st_ino == inode, os.path.lexists(name))[1:])
    other = directory()
    case("rename/%s moves the parents' mtime and ctime" % kind,
         lambda: moved("mc", other, lambda: os.rename(d + "/b", other + "/c")))
    case("rename/%s to another directory keeps the inode" % kind, lambda: (os.lstat(other + "/c").st_ino == inode, describe(d), describe(other)))
d = directory()
make(d + "/file", "f")
make(d + "/dir", "d", 0o755)
make(d + "/full", "d", 0o755)
make(d + "/full/x", "f")
make(d + "/empty", "d", 0o755)
case("rename/a file over a directory", lambda: os.rename(d + "/file", d + "/dir"))
case("rename/a directory over a file", lambda: os.rename(d + "/dir", d + "/file"))
case("rename/a directory over a non-empty one", lambda: os.rename(d + "/dir", d + "/full"))
case("rename/a directory over an empty one", lambda: (os.rename(d + "/dir", d + "/empty"), describe(d))[1])
case("rename/a directory into itself", lambda: os.rename(d + "/empty", d + "/empty/inner"))
case("rename/a name onto itself", lambda: (os.rename(d + "/file", d + "/file"), describe(d + "/file"))[1])
os.link(d + "/file", d + "/hard")
case("rename/a name onto another link of the same file", lambda: (os.rename(d + "/file", d + "/hard"), os.path.exists(d + "/file"), describe(d + "/hard"))[1:])
case("rename/a missing name", lambda: os.rename(d + "/missing", d + "/new"))
case("rename/into a missing directory", lambda: os.rename(d + "/hard", d + "/missing/new"))
case("rename/a directory to another parent updates both link counts",
     lambda: (os.rename(d + "/full", directory() + "/moved"), os.lstat(d).st_nlink))
for kind in KINDS:
    for owner_of_dir, owner_of_entry in [(NOBODY, NOBODY), (NOBODY, OTHER), (OTHER, NOBODY), (OTHER, OTHER), (OTHER, 0)]:
        sticky = make(fresh("sticky"), "d", 0o1777, owner_of_dir, owner_of_dir)
        name = make(sticky + "/entry", kind, 0o755 if kind == "d" else 0o644, owner_of_entry, owner_of_entry)
        label = "rename/%s out of a sticky directory of %d, entry of %d" % (kind, owner_of_dir, owner_of_entry)
        case(label, lambda: os.rename(name, directory() + "/out"), NOBODY, GROUP)
        target = make(fresh("sticky"), "d", 0o1777, owner_of_dir, owner_of_dir)
        victim = make(target + "/victim", kind, 0o755 if kind == "d" else 0o644, owner_of_entry, owner_of_entry)
        mine = make(directory() + "/mine", kind, 0o755 if kind == "d" else 0o644, NOBODY, GROUP)
        label = "rename/%s over an entry of %d in a sticky directory of %d" % (kind, owner_of_entry, owner_of_dir)
        case(label, lambda: os.rename(mine, victim), NOBODY, GROUP)
for mode in [0o755, 0o777]:
    parent = directory(0o777, NOBODY, GROUP)
    moving = make(parent + "/moving", "d", mode, 0, 0)
    case("rename/a root directory of %04o to another parent by another user" % mode, lambda: os.rename(moving, directory() + "/moved"), NOBODY, GROUP)
    case("rename/a root directory of %04o within its parent by another user" % mode, lambda: os.rename(moving, parent + "/renamed"), NOBODY, GROUP)
case("rename/out of a directory without write permission", lambda: os.rename(make(make(fresh("ro"), "d", 0o755) + "/x", "f"), fresh("y")), NOBODY, GROUP)
case("rename/noreplace onto an existing name", lambda: (lambda a, b: libc.renameat2(-100, a.encode(), -100, b.encode(), 1) == 0 or os.strerror(ctypes.get_errno()))(make(fresh("n"), "f"), make(fresh("n"), "f")))

# unlink
for kind in ["f", "p", "s", "c", "l"]:
    d = directory()
    name = make(d + "/gone", kind, 0o644)
    os.link(name, d + "/kept", follow_symlinks=False)
    case("unlink/%s leaves its other link" % kind, lambda: (os.unlink(name), describe(d + "/kept"))[1])
    case("unlink/%s moves the directory's mtime and ctime" % kind, lambda: moved("mc", d, lambda: os.unlink(d + "/kept")))
    case("unlink/%s is gone" % kind, lambda: os.path.lexists(d + "/kept"))
    for owner_of_dir, owner_of_entry in [(NOBODY, OTHER), (OTHER, NOBODY), (OTHER, OTHER), (0, 0)]:
        sticky = make(fresh("sticky"), "d", 0o1777, owner_of_dir, owner_of_dir)
        name = make(sticky + "/entry", kind, 0o666, owner_of_entry, owner_of_entry)
        case("unlink/%s in a sticky directory of %d, entry of %d" % (kind, owner_of_dir, owner_of_entry), lambda: os.unlink(name), NOBODY, GROUP)
d = directory()
case("unlink/a directory", lambda: os.unlink(d))
case("unlink/a missing name", lambda: os.unlink(fresh("missing")))
case("unlink/through a file", lambda: os.unlink(make(fresh("f"), "f") + "/x"))
case("unlink/in a directory without write permission", lambda: os.unlink(make(make(fresh("ro"), "d", 0o755) + "/x", "f", 0o666)), NOBODY, GROUP)
case("unlink/below a directory without search permission", lambda: os.unlink(closed + "/inside"), NOBODY, GROUP)
name = make(fresh("open"), "f", 0o644)
write(name, b"0123456789")
fd = os.open(name, os.O_RDONLY)
case("unlink/of an open file: fstat after", lambda: (os.unlink(name), os.fstat(fd).st_nlink, os.fstat(fd).st_size, os.pread(fd, 4, 2))[1:])
os.close(fd)

# mkdir
d = directory()
for mode in [0o755, 0o700, 0o1777, 0o2755, 0o4755, 0o7777]:
    case("mkdir/mode %04o" % mode, lambda: (os.mkdir(d + "/m%o" % mode, mode), describe(d + "/m%o" % mode))[1])
case("mkdir/as another user", lambda: (os.mkdir(d + "/users", 0o750), describe(d + "/users"))[1], NOBODY, GROUP)
case("mkdir/counts in its parent's links", lambda: describe(d))
case("mkdir/moves the parent's mtime and ctime", lambda: moved("mc", d, lambda: os.mkdir(d + "/timed")))
case("mkdir/an existing name", lambda: os.mkdir(d + "/timed"))
case("mkdir/over a symlink", lambda: os.mkdir(make(d + "/sym", "l")))
case("mkdir/in a missing directory", lambda: os.mkdir(d + "/missing/x"))
case("mkdir/through a file", lambda: os.mkdir(make(d + "/file", "f") + "/x"))
case("mkdir/in a directory without write permission", lambda: os.mkdir(make(fresh("ro"), "d", 0o755) + "/x"), NOBODY, GROUP)
case("mkdir/below a directory without search permission", lambda: os.mkdir(closed + "/x"), NOBODY, GROUP)
case("mkdir/a name of 256 bytes", lambda: os.mkdir(d + "/" + "z" * 256))
setgid = make(fresh("setgid"), "d", 0o2777, 0, GROUP)
os.chmod(setgid, 0o2777)
case("mkdir/in a setgid directory", lambda: (os.mkdir(setgid + "/sub", 0o755), describe(setgid + "/sub"))[1], NOBODY, NOBODY)
case("mkdir/a file in a setgid directory", lambda: (os.close(os.open(setgid + "/file", os.O_CREAT | os.O_WRONLY, 0o644)), describe(setgid + "/file"))[1], NOBODY, NOBODY)

# rmdir
d = directory()
for name in ["a", "b", "c", "full"]:
    os.mkdir(d + "/" + name)
make(d + "/full/x", "f")
case("rmdir/a directory's links count its subdirectories", lambda: describe(d))
case("rmdir/an empty directory", lambda: (os.rmdir(d + "/a"), describe(d))[1])
case("rmdir/moves the parent's mtime and ctime", lambda: moved("mc", d, lambda: os.rmdir(d + "/b")))
case("rmdir/a non-empty directory", lambda: os.rmdir(d + "/full"))
case("rmdir/a file", lambda: os.rmdir(d + "/full/x"))
case("rmdir/a missing name", lambda: os.rmdir(d + "/missing"))
case("rmdir/dot", lambda: os.rmdir(d + "/c/."))
case("rmdir/in a directory without write permission", lambda: os.rmdir(make(make(fresh("ro"), "d", 0o755) + "/x", "d", 0o777)), NOBODY, GROUP)
for owner_of_dir, owner_of_entry in [(NOBODY, OTHER), (OTHER, NOBODY), (OTHER, OTHER)]:
    sticky = make(fresh("sticky"), "d", 0o1777, owner_of_dir, owner_of_dir)
    name = make(sticky + "/entry", "d", 0o777, owner_of_entry, owner_of_entry)
    case("rmdir/in a sticky directory of %d, entry of %d" % (owner_of_dir, owner_of_entry), lambda: os.rmdir(name), NOBODY, GROUP)

# symlink
d = directory()
case("symlink/creates", lambda: (os.symlink("some/target", d + "/s"), describe(d + "/s"), os.readlink(d + "/s"))[1:])
case("symlink/as another user", lambda: (os.symlink("t", d + "/users"), describe(d + "/users"))[1], NOBODY, GROUP)
case("symlink/moves the directory's mtime and ctime", lambda: moved("mc", d, lambda: os.symlink("t", d + "/timed")))
case("symlink/an existing name", lambda: os.symlink("t", d + "/s"))
case("symlink/in a missing directory", lambda: os.symlink("t", d + "/missing/s"))
case("symlink/in a directory without write permission", lambda: os.symlink("t", make(fresh("ro"), "d", 0o755) + "/s"), NOBODY, GROUP)
case("symlink/a target of 4095 bytes", lambda: (os.symlink("t" * 4095, d + "/long"), os.lstat(d + "/long").st_size)[1])
case("symlink/a target of 4096 bytes", lambda: os.symlink("t" * 4096, d + "/longer"))
make(d + "/real", "f")
write(d + "/real", b"through")
case("symlink/is followed", lambda: (os.symlink("real", d + "/follow"), open(d + "/follow", "rb").read())[1])
case("symlink/a dangling one", lambda: os.stat(make(d + "/dangles", "l")))

# truncate
d = directory()
name = make(d + "/t", "f", 0o666)
write(name, b"0123456789")
case("truncate/shrinks", lambda: (os.truncate(name, 4), open(name, "rb").read())[1])
case("truncate/grows with zeros", lambda: (os.truncate(name, 8), open(name, "rb").read())[1])
case("truncate/moves mtime and ctime", lambda: moved("amc", name, lambda: os.truncate(name, 20)))
case("truncate/to the same size moves mtime and ctime", lambda: moved("amc", name, lambda: os.truncate(name, 20)))
case("truncate/ftruncate", lambda: (lambda fd: (os.ftruncate(fd, 2), os.close(fd), os.stat(name).st_size)[2])(os.open(name, os.O_WRONLY)))
case("truncate/a directory", lambda: os.truncate(d, 0))
case("truncate/a missing name", lambda: os.truncate(d + "/missing", 0))
case("truncate/a negative size", lambda: os.truncate(name, -1))
case("truncate/without write permission", lambda: os.truncate(make(d + "/ro", "f", 0o644), 0), NOBODY, GROUP)
case("truncate/with write permission as another user", lambda: (os.truncate(name, 1), os.stat(name).st_size)[1], NOBODY, GROUP)
case("truncate/below a directory without search permission", lambda: os.truncate(closed + "/inside", 0), NOBODY, GROUP)
case("truncate/a read-only descriptor", lambda: (lambda fd: os.ftruncate(fd, 0))(os.open(name, os.O_RDONLY)))

# utimensat
d = directory()
for mode, label in [(0o644, "without write permission"), (0o666, "with write permission")]:
    name = make(fresh("times"), "f", mode, NOBODY, GROUP)
    explicit = ((1_500_000_000, 123_456_789), (1_600_000_000, 987_654_321))
    for who, uid, gid in [("owner", NOBODY, GROUP), ("other", OTHER, OTHER), ("root", 0, 0)]:
        case("utimensat/%s: explicit times by %s" % (label, who), lambda: (utimensat(name, explicit), os.stat(name).st_mtime_ns)[1], uid, gid)
        case("utimensat/%s: NULL by %s" % (label, who), lambda: utimensat(name, None), uid, gid)
        case("utimensat/%s: both UTIME_NOW by %s" % (label, who), lambda: utimensat(name, ((0, UTIME_NOW), (0, UTIME_NOW))), uid, gid)
        case("utimensat/%s: UTIME_NOW and UTIME_OMIT by %s" % (label, who), lambda: utimensat(name, ((0, UTIME_NOW), (0, UTIME_OMIT))), uid, gid)
        case("utimensat/%s: UTIME_OMIT twice by %s" % (label, who), lambda: utimensat(name, ((0, UTIME_OMIT), (0, UTIME_OMIT))), uid, gid)
        case("utimensat/%s: one explicit by %s" % (label, who), lambda: utimensat(name, ((5, 0), (0, UTIME_OMIT))), uid, gid)
name = make(d + "/exact", "f")
case("utimensat/keeps nanoseconds", lambda: (utimensat(name, ((1_000_000_000, 1), (2_000_000_000, 999_999_999))), os.stat(name).st_atime_ns, os.stat(name).st_mtime_ns)[1:])
case("utimensat/UTIME_OMIT keeps that time", lambda: (utimensat(name, ((0, UTIME_OMIT), (3, 0))), os.stat(name).st_atime_ns, os.stat(name).st_mtime_ns)[1:])
case("utimensat/moves ctime", lambda: moved("c", name, lambda: utimensat(name, ((7, 0), (8, 0)))))
link = make(d + "/link", "l")
case("utimensat/AT_SYMLINK_NOFOLLOW on a symlink", lambda: (utimensat(link, ((9, 0), (10, 0)), nofollow=True), os.lstat(link).st_mtime_ns)[1])
case("utimensat/a missing name", lambda: utimensat(d + "/missing", None))
case("utimensat/below a directory without search permission", lambda: utimensat(closed + "/inside", None), NOBODY, GROUP)

# mknod
d = directory()
for kind, bits in [("fifo", stat.S_IFIFO), ("regular", stat.S_IFREG), ("socket", stat.S_IFSOCK)]:
    case("mknod/a %s" % kind, lambda: (os.mknod(d + "/" + kind, bits | 0o640), describe(d + "/" + kind))[1])
    case("mknod/a %s as another user" % kind, lambda: (os.mknod(d + "/u" + kind, bits | 0o604), describe(d + "/u" + kind))[1], NOBODY, GROUP)
for kind, bits in [("char", stat.S_IFCHR), ("block", stat.S_IFBLK)]:
    case("mknod/a %s device" % kind, lambda: (os.mknod(d + "/" + kind, bits | 0o600, os.makedev(4095, 1048575)), describe(d + "/" + kind))[1])
    case("mknod/a small %s device" % kind, lambda: (os.mknod(d + "/s" + kind, bits | 0o666, os.makedev(1, 3)), describe(d + "/s" + kind))[1])
    case("mknod/a %s device as another user" % kind, lambda: os.mknod(d + "/u" + kind, bits | 0o600, os.makedev(1, 3)), NOBODY, GROUP)
case("mknod/a directory", lambda: os.mknod(d + "/dir", stat.S_IFDIR | 0o755))
case("mknod/moves the directory's mtime and ctime", lambda: moved("mc", d, lambda: os.mknod(d + "/timed", stat.S_IFIFO | 0o644)))
case("mknod/an existing name", lambda: os.mknod(d + "/fifo", stat.S_IFIFO | 0o644))
case("mknod/in a missing directory", lambda: os.mknod(d + "/missing/x", stat.S_IFIFO | 0o644))
case("mknod/through a file", lambda: os.mknod(d + "/regular/x", stat.S_IFIFO | 0o644))
case("mknod/in a directory without write permission", lambda: os.mknod(make(fresh("ro"), "d", 0o755) + "/x", stat.S_IFIFO | 0o644), NOBODY, GROUP)
case("mknod/in a setgid directory", lambda: (os.mknod(setgid + "/node", stat.S_IFIFO | 0o644), describe(setgid + "/node"))[1], NOBODY, NOBODY)
case("mknod/a device node's number survives rename", lambda: (os.rename(d + "/char", d + "/renamed"), describe(d + "/renamed"))[1])

# mkfifo
d = directory()
case("mkfifo/creates", lambda: (os.mkfifo(d + "/f", 0o620), describe(d + "/f"))[1])
case("mkfifo/as another user", lambda: (os.mkfifo(d + "/u", 0o600), describe(d + "/u"))[1], NOBODY, GROUP)
case("mkfifo/an existing name", lambda: os.mkfifo(d + "/f"))
case("mkfifo/in a missing directory", lambda: os.mkfifo(d + "/missing/f"))
case("mkfifo/in a directory without write permission", lambda: os.mkfifo(make(fresh("ro"), "d", 0o755) + "/f"), NOBODY, GROUP)
case("mkfifo/below a directory without search permission", lambda: os.mkfifo(closed + "/f"), NOBODY, GROUP)
case("mkfifo/moves the directory's mtime and ctime", lambda: moved("mc", d, lambda: os.mkfifo(d + "/timed")))
def through_fifo(path):
    pid = os.fork()
    if pid == 0:
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, b"through the pipe")
        os.close(fd)
        os._exit(0)
    fd = os.open(path, os.O_RDONLY)
    data = b""
    while True:
        chunk = os.read(fd, 100)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    os.waitpid(pid, 0)
    return data
case("mkfifo/carries data between two processes", lambda: through_fifo(d + "/f"))
def through_socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    pid = os.fork()
    if pid == 0:
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        client.sendall(b"through the socket")
        client.close()
        os._exit(0)
    connection, _ = server.accept()
    data = b""
    while True:
        chunk = connection.recv(100)
        if not chunk:
            break
        data += chunk
    connection.close()
    server.close()
    os.waitpid(pid, 0)
    return (data, describe(path))
case("mknod/a socket bound there accepts a connection", lambda: through_socket(d + "/sock"))
print("done")
"""#
}
