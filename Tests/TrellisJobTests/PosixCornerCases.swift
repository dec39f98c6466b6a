/// POSIX corner cases as a Python program, run once in a local folder and
/// once on the mount: both must pass every check. Run as root (it switches
/// to other uids in children for the permission checks).
enum PosixCornerCases {
    static let count = 105

    static let script = #"""
import ctypes, errno, os, socket, stat, sys, time

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

def as_user(uid, gid, action, groups=()):
    """Runs action in a child as uid:gid; returns the errno it failed with, or 0."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups(list(groups))
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
check("with no links left", os.fstat(fd).st_nlink == 0)
os.close(fd)
# The kernel sends FUSE's release after close returns, as NFS removes its
# .nfsXXXX names after the last close: the hidden name goes soon, not at once.
def hidden_name_gone():
    for _ in range(200):
        if not any(n.startswith(".trellis-unlinked") for n in os.listdir(".")):
            return True
        time.sleep(0.05)
    return False
check("nothing is left after the last close", hidden_name_gone())

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

# search permission holds whatever the kernel's caches hold: users alternate on paths another just walked
os.mkdir("private", 0o700)
write("private/data", b"123")
os.chmod("private/data", 0o666)
os.mkdir("team", 0o750)
os.chown("team", 0, 4321)
write("team/notes", b"team")
os.chmod("team/notes", 0o666)
for round in range(3):
    os.listdir("private")
    os.stat("private/data")
    check("nobody cannot read below root's 0700 directory right after root looked", as_user(65534, 65534, lambda: read("private/data")) == errno.EACCES)
    check("nor stat it", as_user(65534, 65534, lambda: os.stat("private/data")) == errno.EACCES)
    check("nor truncate it", as_user(65534, 65534, lambda: os.truncate("private/data", 1234)) == errno.EACCES)
    check("nor chmod it", as_user(65534, 65534, lambda: os.chmod("private/data", 0o777)) == errno.EACCES)
    check("nor chown it", as_user(65534, 65534, lambda: os.chown("private/data", 65534, 65534)) == errno.EACCES)
    check("nor link it", as_user(65534, 65534, lambda: os.link("private/data", "stolen")) == errno.EACCES)
    check("nor open it for writing", as_user(65534, 65534, lambda: os.open("private/data", os.O_WRONLY)) == errno.EACCES)
    check("a member of the group reads in the group's directory", as_user(2000, 2000, lambda: read("team/notes"), groups=[4321]) == 0)
    check("and right after, a user outside the group cannot", as_user(2001, 2001, lambda: read("team/notes")) == errno.EACCES)
    check("nor write there", as_user(2001, 2001, lambda: write("team/notes", b"x", os.O_WRONLY)) == errno.EACCES)
    check("while the member still can", as_user(2000, 2000, lambda: read("team/notes"), groups=[4321]) == 0)
check("the file the others reached for is untouched", os.stat("private/data").st_size == 3 and os.stat("private/data").st_mode & 0o7777 == 0o666)
check("and so is the group's", read("team/notes") == b"team")

# set-ID bits go when another user writes
for mode in (0o4777, 0o2777, 0o6777):
    write("setid", b"x")
    os.chmod("setid", mode)
    check("a write by another user clears set-ID bits of %o" % mode, as_user(65534, 65534, lambda: write("setid", b"y", os.O_WRONLY | os.O_APPEND)) == 0
          and os.stat("setid").st_mode & 0o7777 == 0o777)

# O_RDONLY | O_TRUNC needs write permission
write("keep", b"keep me")
os.chmod("keep", 0o644)
check("O_RDONLY|O_TRUNC without write permission is EACCES", as_user(65534, 65534, lambda: os.open("keep", os.O_RDONLY | os.O_TRUNC)) == errno.EACCES)
check("and truncates nothing", read("keep") == b"keep me")

# explicit times are the owner's; now is any writer's
write("timed", b"t")
os.chmod("timed", 0o666)
check("a non-owner may not set explicit times", as_user(65534, 65534, lambda: os.utime("timed", (1, 2))) == errno.EPERM)
check("but a writer may set both to now", as_user(65534, 65534, lambda: os.utime("timed", None)) == 0)
os.chmod("timed", 0o644)
check("and one who may not write may not", as_user(65534, 65534, lambda: os.utime("timed", None)) == errno.EACCES)

# chown by a non-owner, even to the present owner
check("chown by a non-owner to the present owner is EPERM", as_user(65534, 65534, lambda: os.chown("timed", 0, -1)) == errno.EPERM)

# rename: sticky directories, and a moved directory's ".."
os.mkdir("stick")
os.chmod("stick", 0o1777)
os.mkdir("elsewhere")
os.chmod("elsewhere", 0o777)
write("stick/roots", b"r")
check("no one but its owner moves a file out of a sticky directory", as_user(65534, 65534, lambda: os.rename("stick/roots", "elsewhere/x")) in (errno.EPERM, errno.EACCES))
check("nor replaces another's file in one", as_user(65534, 65534, lambda: (write("elsewhere/mine", b"m"), os.rename("elsewhere/mine", "stick/roots"))) in (errno.EPERM, errno.EACCES))
os.mkdir("elsewhere/rootdir", 0o755)
check("a directory moved to another parent needs write permission on itself", as_user(65534, 65534, lambda: os.rename("elsewhere/rootdir", "stick/moved")) == errno.EACCES)
check("but not to be renamed in its parent", as_user(65534, 65534, lambda: os.rename("elsewhere/rootdir", "elsewhere/renamed")) == 0)

# a directory's link count is 2 plus its subdirectories
os.mkdir("three")
for name in ("a", "b", "c"):
    os.mkdir("three/" + name)
write("three/file", b"f")
check("a directory with 3 subdirectories has 5 links", os.stat("three").st_nlink == 5)

# special files
os.mkfifo("fifo", 0o640)
check("mkfifo makes a FIFO", stat.S_ISFIFO(os.lstat("fifo").st_mode) and os.lstat("fifo").st_mode & 0o7777 == 0o640)
pid = os.fork()
if pid == 0:
    fd = os.open("fifo", os.O_WRONLY)
    os.write(fd, b"through the fifo")
    os._exit(0)
fd = os.open("fifo", os.O_RDONLY)
check("a FIFO passes data between two processes", os.read(fd, 100) == b"through the fifo")
os.close(fd)
os.waitpid(pid, 0)
os.mknod("device", stat.S_IFCHR | 0o600, os.makedev(1, 3))
check("mknod makes a character device with its number", stat.S_ISCHR(os.lstat("device").st_mode) and os.lstat("device").st_rdev == os.makedev(1, 3))
os.mknod("block", stat.S_IFBLK | 0o600, os.makedev(7, 0))
check("and a block device", stat.S_ISBLK(os.lstat("block").st_mode) and os.major(os.lstat("block").st_rdev) == 7)
check("device nodes are root's to make", as_user(65534, 65534, lambda: os.mknod("sticky/dev", stat.S_IFCHR | 0o600, os.makedev(1, 3))) == errno.EPERM)
server = socket.socket(socket.AF_UNIX)
server.bind("socket")
server.listen(1)
pid = os.fork()
if pid == 0:
    client = socket.socket(socket.AF_UNIX)
    client.connect("socket")
    client.sendall(b"through the socket")
    os._exit(0)
connection, _ = server.accept()
check("a UNIX socket bound there accepts a connection", connection.recv(100) == b"through the socket")
connection.close()
server.close()
os.waitpid(pid, 0)
check("and is a socket", stat.S_ISSOCK(os.lstat("socket").st_mode))
os.chmod("fifo", 0o600)
os.chown("fifo", 1234, 5678)
os.utime("fifo", ns=(1_000_000_000, 2_000_000_000))
os.link("fifo", "fifo-link")
os.rename("fifo-link", "three/fifo-moved")
st = os.lstat("three/fifo-moved")
check("special files take chmod, chown, utimens, link and rename", stat.S_ISFIFO(st.st_mode) and st.st_mode & 0o7777 == 0o600
      and st.st_uid == 1234 and st.st_mtime_ns == 2_000_000_000 and st.st_nlink == 2)
listed = {entry.name: entry.stat(follow_symlinks=False).st_mode for entry in os.scandir(".")}
check("listings show their types", stat.S_ISFIFO(listed["fifo"]) and stat.S_ISSOCK(listed["socket"]) and stat.S_ISCHR(listed["device"]))
for name in ("fifo", "three/fifo-moved", "device", "block", "socket"):
    os.unlink(name)
check("and unlink", not any(os.path.lexists(n) for n in ("fifo", "device", "block", "socket")))

print("all %d checks passed" % passed)
"""#
}
