/// POSIX corner cases as a Python program, run once in a local folder and
/// once on the mount: both must pass every check. Run as root (it switches
/// to other uids in children for the permission checks).
enum PosixCornerCases {
    static let count = 45

    static let script = #"""
import ctypes, errno, os, sys, time

base = sys.argv[1]
os.chdir(base)
passed = 0

def check(name, condition):
    global passed
    if not condition:
        print("FAILED: " + name)
        sys.exit(1)
    passed += 1

def fails_with(name, number, action):
    try:
        action()
    except OSError as error:
        check(name + " (got " + errno.errorcode.get(error.errno, str(error.errno)) + ")", error.errno == number)
        return
    check(name + " (did not fail)", False)

def write(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    fd = os.open(path, flags, 0o644)
    os.write(fd, data)
    os.close(fd)

def read(path):
    with open(path, "rb") as f:
        return f.read()

def as_user(uid, gid, action):
    """Runs action in a child as uid:gid; returns the errno it failed with, or 0."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            action()
            os._exit(0)
        except OSError as error:
            os._exit(error.errno)
        except BaseException:
            os._exit(250)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

# O_EXCL, O_TRUNC, O_APPEND
write("f", b"0123456789")
fails_with("O_EXCL on an existing file", errno.EEXIST, lambda: os.open("f", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
os.close(os.open("g", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
check("O_EXCL makes a new file", os.path.exists("g"))
write("f", b"abc")
check("O_TRUNC truncates", read("f") == b"abc")
fd = os.open("f", os.O_WRONLY | os.O_APPEND)
os.lseek(fd, 0, os.SEEK_SET)
os.write(fd, b"XYZ")
os.close(fd)
check("O_APPEND writes at the end", read("f") == b"abcXYZ")

# sparse files, holes, 0-byte files
fd = os.open("sparse", os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"end", 10 * 1024 * 1024)
os.close(fd)
check("a sparse file's size", os.stat("sparse").st_size == 10 * 1024 * 1024 + 3)
with open("sparse", "rb") as f:
    f.seek(5 * 1024 * 1024)
    hole = f.read(65536)
    f.seek(10 * 1024 * 1024)
    tail = f.read()
check("a hole reads as zeros", hole == bytes(65536))
check("data after a hole", tail == b"end")
os.close(os.open("zero", os.O_WRONLY | os.O_CREAT, 0o644))
check("a 0-byte file has size 0", os.stat("zero").st_size == 0)
check("a 0-byte file reads nothing", read("zero") == b"")
os.truncate("sparse", 100)
check("truncate down", os.stat("sparse").st_size == 100)
os.truncate("zero", 5000)
check("truncate up", os.stat("zero").st_size == 5000 and read("zero") == bytes(5000))

# rename
write("r1", b"one")
write("r2", b"two")
os.rename("r1", "r2")
check("rename over a file replaces it", read("r2") == b"one" and not os.path.exists("r1"))
os.mkdir("d1")
os.mkdir("d2")
write("d1/inside", b"x")
os.rename("d1", "d2")
check("rename a directory over an empty one", os.path.exists("d2/inside") and not os.path.exists("d1"))
os.mkdir("d3")
fails_with("rename over a non-empty directory", errno.ENOTEMPTY, lambda: os.rename("d3", "d2"))
fails_with("rename a file over a directory", errno.EISDIR, lambda: os.rename("r2", "d3"))
fails_with("rename a directory over a file", errno.ENOTDIR, lambda: os.rename("d3", "r2"))
fails_with("rename a missing name", errno.ENOENT, lambda: os.rename("missing", "r9"))

libc = ctypes.CDLL(None, use_errno=True)
def renameat2(old, new, flags):
    if libc.renameat2(-100, old.encode(), -100, new.encode(), flags) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
write("n1", b"n1")
write("n2", b"n2")
fails_with("RENAME_NOREPLACE onto an existing name", errno.EEXIST, lambda: renameat2("n1", "n2", 1))
renameat2("n1", "n3", 1)
check("RENAME_NOREPLACE onto a new name", read("n3") == b"n1" and not os.path.exists("n1"))
try:
    renameat2("n2", "n3", 2)
    check("RENAME_EXCHANGE swaps", read("n3") == b"n2" and read("n2") == b"n1")
except OSError as error:
    check("RENAME_EXCHANGE is either done or EINVAL", error.errno == errno.EINVAL)

# unlink and rmdir
fails_with("rmdir of a non-empty directory", errno.ENOTEMPTY, lambda: os.rmdir("d2"))
fails_with("rmdir of a file", errno.ENOTDIR, lambda: os.rmdir("r2"))
fails_with("unlink of a directory", errno.EISDIR, lambda: os.unlink("d2"))
fails_with("unlink of a missing name", errno.ENOENT, lambda: os.unlink("missing"))
fails_with("a path through a file", errno.ENOTDIR, lambda: os.stat("r2/x"))

# unlink while open
write("open", b"still here" * 1000)
fd = os.open("open", os.O_RDONLY)
os.unlink("open")
check("the name is gone", "open" not in os.listdir("."))
check("an unlinked open file reads", os.pread(fd, 10, 0) == b"still here")
check("and stats", os.fstat(fd).st_size == 10000)
os.close(fd)
check("nothing is left after the last close", not any(n.startswith(".trellis-unlinked") for n in os.listdir(".")))

# hard links
write("l1", b"linked")
os.link("l1", "d3/l2")
check("a hard link counts 2", os.stat("l1").st_nlink == 2 and os.stat("d3/l2").st_ino == os.stat("l1").st_ino)
os.unlink("l1")
check("after an unlink it counts 1 and reads", os.stat("d3/l2").st_nlink == 1 and read("d3/l2") == b"linked")

# extended attributes
os.setxattr("r2", "user.colour", b"blue")
check("getxattr", os.getxattr("r2", "user.colour") == b"blue")
check("listxattr", "user.colour" in os.listxattr("r2"))
os.removexattr("r2", "user.colour")
fails_with("a removed xattr", errno.ENODATA, lambda: os.getxattr("r2", "user.colour"))

# times, modes, owners
os.utime("r2", ns=(1_500_000_000_123_456_789, 1_600_000_000_987_654_321))
check("utimens sets the modification time", os.stat("r2").st_mtime_ns == 1_600_000_000_987_654_321)
before = os.stat("r2").st_mtime_ns
write("r2", b"newer", os.O_WRONLY)
check("a write moves the modification time", os.stat("r2").st_mtime_ns > before)
os.chmod("r2", 0o751)
check("chmod", os.stat("r2").st_mode & 0o7777 == 0o751)
os.chown("r2", 1234, 5678)
check("chown", os.stat("r2").st_uid == 1234 and os.stat("r2").st_gid == 5678)

# permissions, as other users
write("secret", b"s")
os.chmod("secret", 0o600)
check("another user cannot read a 0600 file", as_user(1000, 1000, lambda: read("secret")) == errno.EACCES)
os.mkdir("closed", 0o755)
check("nor create in a 0755 directory of root's", as_user(1000, 1000, lambda: write("closed/x", b"x")) == errno.EACCES)
os.mkdir("sticky")
os.chmod("sticky", 0o1777)
check("a user creates in a sticky directory", as_user(1000, 1000, lambda: write("sticky/mine", b"m")) == 0)
check("another user may not remove it there", as_user(1001, 1001, lambda: os.unlink("sticky/mine")) in (errno.EPERM, errno.EACCES))
check("its owner may", as_user(1000, 1000, lambda: os.unlink("sticky/mine")) == 0)

# setgid directories: new files take the directory's group, new directories its setgid bit too
os.mkdir("shared")
os.chown("shared", 0, 4321)
os.chmod("shared", 0o2775)
write("shared/file", b"g")
os.mkdir("shared/sub")
check("a file in a setgid directory takes its group", os.stat("shared/file").st_gid == 4321)
check("a directory in it takes the group and the bit", os.stat("shared/sub").st_gid == 4321 and os.stat("shared/sub").st_mode & 0o2000 != 0)

print("all %d checks passed" % passed)
"""#
}
