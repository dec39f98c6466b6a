import Foundation
import NIOCore
import Testing
import TrellisCore
import TrellisFUSE

/// Ordinary programs on a real FUSE mount of a 4-server file system, each
/// compared with the same work on a local folder.
@Suite(.serialized) struct MountJobTests {
    /// coreutils work whose every visible result must match a local folder's.
    static let coreutilsWork = """
        mkdir -p src/sub/deeper
        printf 'hello\\n' > src/a.txt
        seq 1 20000 > src/sub/numbers
        seq 1 400000 > src/sub/deeper/big
        touch -d '2020-01-02 03:04:05' src/a.txt
        chmod 640 src/sub/numbers
        ln src/a.txt src/hard
        ln -s a.txt src/soft
        cp -a src copy
        mv copy/sub copy/moved
        cat src/a.txt src/sub/numbers > joined
        dd if=src/sub/deeper/big of=part bs=4096 skip=10 count=100 status=none
        rm -r copy/moved/deeper
        touch newfile
        echo appended >> joined
        : > empty
        """

    /// What is compared: names, types, modes, link counts and sizes of all
    /// but directories, symlink targets, contents, and times cp -a kept.
    static let describe = """
        find . ! -type d -printf '%y %m %n %s %P %l\\n' | sort
        find . -mindepth 1 -type d -printf '%m %P\\n' | sort
        find . -type f -print0 | sort -z | xargs -0 md5sum
        stat -c '%h %s %a %Y' src/a.txt src/hard copy/a.txt
        ls -1 src copy | sort
        cat src/soft | wc -c
        find . -type f -printf '%s\\n' | awk '{ total += $1 } END { print total }'
        """

    @Test func coreutilsGiveTheSameResultsAsOnALocalFolder() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let local = fixture.folder + "/local"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        let script = Self.coreutilsWork + "\n" + Self.describe
        let expected = try mount.shell(script, in: local)
        #expect(expected.status == 0, "\(expected.combined)")
        let got = try mount.shell(script, in: mount.point)
        #expect(got.status == 0, "\(got.combined)\n\(mount.logText)")
        #expect(got.output == expected.output)
        // And it all goes away again.
        let removed = try mount.shell("rm -r src copy joined part newfile empty; ls -A | wc -l", in: mount.point)
        #expect(removed.status == 0 && removed.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(removed.combined)")
    }

    @Test func tarRoundTripsThroughTheMount() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let local = fixture.folder + "/local"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        let make = try mount.shell(Self.coreutilsWork + "\ntar cf ../in.tar src copy joined part newfile empty", in: local)
        #expect(make.status == 0, "\(make.combined)")
        let extract = try mount.shell("tar xf \(fixture.folder)/in.tar && tar cf \(fixture.folder)/out.tar src copy joined part newfile empty", in: mount.point)
        #expect(extract.status == 0, "\(extract.combined)\n\(mount.logText)")
        let back = fixture.folder + "/back"
        try FileManager.default.createDirectory(atPath: back, withIntermediateDirectories: true)
        let unpack = try mount.shell("tar xf ../out.tar", in: back)
        #expect(unpack.status == 0, "\(unpack.combined)")
        let original = try mount.shell(Self.describe, in: local)
        let roundTripped = try mount.shell(Self.describe, in: back)
        let onMount = try mount.shell(Self.describe, in: mount.point)
        #expect(original.output.split(separator: "\n").count > 20, "\(original.combined)")
        #expect(roundTripped.output == original.output)
        #expect(onMount.output == original.output)
    }

    /// git, sqlite3 and rsync on the mount, each checked against what it should give.
    @Test func gitSqliteAndRsyncWork() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let git = try mount.shell("""
            export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
            git init -q repo && cd repo
            for i in $(seq 1 20); do seq 1 $((i * 100)) > file$i; done
            git add . && git commit -qm first
            echo change >> file3 && git commit -qam second
            cd .. && git clone -q repo clone
            git -C clone log --format=%s | tr '\n' ' '
            cmp repo/file3 clone/file3 && git -C clone fsck --no-progress 2>&1 | wc -l
            """, in: mount.point)
        #expect(git.status == 0 && git.output.contains("second first"), "\(git.combined)\n\(mount.logText)")
        #expect(git.output.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("0"), "git fsck found problems: \(git.combined)")

        let sqlite = try mount.shell("""
            sqlite3 db.sqlite 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);'
            for i in $(seq 1 300); do echo "INSERT INTO t (v) VALUES ('row $i');"; done | sqlite3 db.sqlite
            sqlite3 db.sqlite 'SELECT COUNT(*), MAX(id) FROM t; PRAGMA integrity_check;'
            """, in: mount.point)
        #expect(sqlite.status == 0 && sqlite.output == "300|300\nok\n", "\(sqlite.combined)\n\(mount.logText)")

        let local = fixture.folder + "/local"
        let back = fixture.folder + "/back"
        let rsync = try mount.shell("""
            mkdir -p \(local)/tree/a/b && seq 1 50000 > \(local)/tree/a/b/n && echo x > \(local)/tree/x && ln -s a/b/n \(local)/tree/link
            touch -d '2021-05-06 07:08:09' \(local)/tree/x && chmod 600 \(local)/tree/x
            rsync -a \(local)/tree/ synced/
            rsync -a synced/ \(back)/
            diff -r \(local)/tree \(back) && stat -c '%a %Y' \(back)/x && readlink \(back)/link
            rsync -a --itemize-changes \(local)/tree/ synced/ | wc -l
            """, in: mount.point)
        #expect(rsync.status == 0, "\(rsync.combined)\n\(mount.logText)")
        #expect(rsync.output == "600 1620284889\na/b/n\n0\n", "a second rsync has nothing to do: \(rsync.combined)")
    }

    /// fio with verification: sequential 1 MiB writes, random 4 KiB writes,
    /// each read back and checked, then random 4 KiB reads.
    @Test func fioVerifiesWhatItWrote() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let common = "--directory=. --ioengine=psync --fallocate=none --minimal"
        let fio = try mount.shell("""
            fio --name=seq --rw=write --bs=1M --size=64M --verify=crc32c --do_verify=1 \(common) | cut -d';' -f1-5
            fio --name=rand --rw=randwrite --bs=4k --size=8M --verify=crc32c --do_verify=1 \(common) | cut -d';' -f1-5
            fio --name=rand --rw=randread --bs=4k --size=8M --number_ios=2000 \(common) | cut -d';' -f1-5
            """, in: mount.point, timeoutSeconds: 600)
        #expect(fio.status == 0, "\(fio.combined)\n\(mount.logText)")
        // Terse lines: version;fio version;job name;group;error — every error field 0.
        let lines = fio.output.split(separator: "\n")
        #expect(lines.count == 3 && lines.allSatisfy { $0.split(separator: ";").last == "0" }, "\(fio.combined)")
        #expect(!fio.combined.contains("verify"), "fio reported a verify problem: \(fio.combined)")
    }

    @Test func posixCornerCases() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let script = fixture.folder + "/posix.py"
        try PosixCornerCases.script.write(toFile: script, atomically: true, encoding: .utf8)
        for place in [fixture.folder + "/local", mount.point + "/posix"] {
            try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
            let outcome = try JobHarness.run(["/usr/bin/env", "python3", script, place], timeoutSeconds: 300)
            #expect(outcome.status == 0, "in \(place):\n\(outcome.combined)\n\(mount.logText)")
            #expect(outcome.output.contains("all \(PosixCornerCases.count) checks passed"), "in \(place):\n\(outcome.combined)")
        }
    }

    /// The families of a POSIX conformance suite (PosixFamilies), run as
    /// root and as other users in a local folder and on the mount: every
    /// case must end the same way in both.
    @Test func posixFamiliesAgreeWithALocalFolder() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let script = fixture.folder + "/families.py"
        try PosixFamilies.script.write(toFile: script, atomically: true, encoding: .utf8)
        var outcomes: [[(name: Substring, outcome: Substring)]] = []
        for place in [fixture.folder + "/local", mount.point + "/families"] {
            try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
            let run = try JobHarness.run(["/usr/bin/env", "python3", script, place], timeoutSeconds: 600)
            #expect(run.status == 0 && run.output.hasSuffix("done\n"), "in \(place):\n\(run.combined)\n\(mount.logText)")
            outcomes.append(run.output.split(separator: "\n").compactMap { line in
                guard let colon = line.range(of: ": ", options: .backwards) else { return nil }
                return (line[..<colon.lowerBound], line[colon.upperBound...])
            })
        }
        let (local, mounted) = (outcomes[0], outcomes[1])
        #expect(local.count > 400 && !local.contains { $0.outcome.hasPrefix("crash") })
        #expect(local.map(\.name) == mounted.map(\.name))
        let differences = zip(local, mounted).filter { $0.outcome != $1.outcome }.map { "\($0.name): local \($0.outcome), mount \($1.outcome)" }
        #expect(differences.isEmpty, "\(differences.count) of \(local.count) cases differ:\n\(differences.joined(separator: "\n"))")
    }

    /// Lookups of new names in a directory the mount made are answered
    /// without the servers, and what another client does there is still
    /// seen: an open with O_CREAT of its file opens that file, O_EXCL fails,
    /// and after negative_timeout a file made in a directory this mount did
    /// not touch since is found.
    @Test func namesAnotherClientMakesAreSeenInDirectoriesTheMountMade() throws {
        let fixture = try FileSystemFixture(servers: 2, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture, options: ["negative_timeout=2"])
        let made = try mount.shell("mkdir fresh quiet && for n in $(seq 1 10); do : > fresh/mine$n; : > quiet/mine$n; done && ls fresh quiet | wc -l", in: mount.point)
        #expect(made.status == 0 && made.output.trimmingCharacters(in: .whitespacesAndNewlines) == "23", "\(made.combined)\n\(mount.logText)")
        // Each of the 20 creates' lookups was answered by the mount itself.
        let metrics = try #require(mount.logText.firstMatch(of: /metrics at (http:\S+)/)?.1, "\(mount.logText)")
        let counted = try mount.shell("""
            python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \(metrics) |
                awk '/^trellis_mount_requests_total.*operation="lookup-known-absent"/ { print $NF }'
            """, in: mount.point)
        #expect(counted.status == 0 && Double(counted.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 20, "\(counted.combined)")
        let client = try fixture.client()
        _ = try client.write("/fresh/theirs", ByteBuffer(string: "written elsewhere"), at: 0, create: true)
        _ = try client.write("/quiet/later", ByteBuffer(string: "seen later"), at: 0, create: true)
        let seen = try mount.shell("""
            python3 -c '
            import os, errno
            try:
                os.open("fresh/theirs", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                print("created")
            except OSError as error:
                print(errno.errorcode[error.errno])
            descriptor = os.open("fresh/theirs", os.O_CREAT | os.O_RDWR, 0o644)
            print(os.read(descriptor, 100).decode())
            os.close(descriptor)
            '
            sleep 2.5
            cat quiet/later; echo
            ls fresh quiet | wc -l
            """, in: mount.point)
        #expect(seen.status == 0, "\(seen.combined)\n\(mount.logText)")
        #expect(seen.output.split(separator: "\n") == ["EEXIST", "written elsewhere", "seen later", "25"], "\(seen.combined)")
    }

    /// Reads around the page cache with the mount's read-ahead (the default
    /// on kernels that can map such files shared), and through it
    /// (-o page_cache): a copy reads back the same; bytes written through a
    /// shared mapping are what read(2) sees; a write through another open
    /// reaches a reader whose next bytes were already fetched ahead.
    @Test(arguments: [[], ["page_cache"]])
    func readsSeeTheServersBytes(options: [String]) throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture, options: options)
        let work = try mount.shell("""
            head -c 3000000 /dev/urandom > \(fixture.folder)/source
            cp \(fixture.folder)/source copy
            cmp copy \(fixture.folder)/source
            dd if=copy bs=64k status=none | md5sum | cut -c1-32
            md5sum < \(fixture.folder)/source | cut -c1-32
            python3 -c '
            import mmap, os
            fd = os.open("copy", os.O_RDWR)
            shared = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED)
            shared[100:105] = b"HELLO"
            shared.flush()
            shared.close()
            os.close(fd)
            with open("copy", "rb") as copy:
                copy.seek(100)
                print(copy.read(5).decode())
            block = 65536
            reader = os.open("copy", os.O_RDONLY)
            for _ in range(4):
                os.read(reader, block)
            writer = os.open("copy", os.O_WRONLY)
            os.pwrite(writer, b"Z" * 10, 5 * block)
            os.close(writer)
            os.read(reader, block)
            print(os.read(reader, 10).decode())
            os.close(reader)
            '
            """, in: mount.point)
        #expect(work.status == 0, "\(work.combined)\n\(mount.logText)")
        let lines = work.output.split(separator: "\n")
        #expect(lines.count == 4 && lines[0] == lines[1], "the copy's checksum matches: \(work.combined)")
        #expect(lines.suffix(2) == ["HELLO", "ZZZZZZZZZZ"], "\(work.combined)")
    }
}
