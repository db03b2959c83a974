// WatchSession: one stretch of `fastresize watch` — a catch-up of the tree, then inotify on every folder, each complete file handed to an open-ended run.

import FastResize
import Foundation
import Synchronization

/// How a watch decides and what it does beyond a run's settings.
public struct WatchSettings: Sendable {
    /// Seconds a file must be quiet (closed, and not modified) before it is read.
    public var settle = 0.3
    /// An input deleted or moved away takes the outputs FastResize wrote for it along.
    public var deleteOutputs = false
    /// Seconds between rescans of the whole tree (nil: none, unless inotify runs out of watches).
    public var rescanInterval: Double?
    /// Watches taken as the kernel's limit (a test's way to run out; nil: the kernel's own).
    public var watchLimit: Int?

    public init() {}

    /// The rescan interval when inotify cannot watch every folder and none was asked for.
    public static let fallbackRescanInterval = 30.0

    /// Names written by programs that save through a temporary and rename it into place
    /// (downloads, editors, copy tools): never inputs. Hidden names (`.x.tmp`, rsync's
    /// `.x.XXXXXX`) are passed over already, as in a run.
    public static let temporaryNames = [GlobPattern("*.{part,partial,crdownload,download,tmp,temp,swp,fastresize-tmp}"),
                                        GlobPattern("*~")]
}

/// What a watch tells the person running it, besides the run's own events.
public struct WatchOutput: Sendable {
    /// A line to show (what is watched, a rescan and why, a limit reached).
    public var note: @Sendable (String) -> Void
    /// An input found gone whose outputs were removed (`--delete-outputs`).
    public var removed: @Sendable (FileReport) -> Void

    public init(note: @escaping @Sendable (String) -> Void, removed: @escaping @Sendable (FileReport) -> Void) {
        self.note = note
        self.removed = removed
    }
}

/// Where a watch stands, for a status line.
public struct WatchStatus: Sendable, Equatable {
    public var folders = 0
    /// Files done since the watch started (made, up to date or failed), and those that failed.
    public var done = 0
    public var failed = 0
    /// Files seen changing, waiting to be quiet.
    public var settling = 0
    /// Files handed to the run and not yet done (queued or being made).
    public var inHand = 0
    public var rescanning = false
}

/// A file of the watched tree: which input folder, and its path below it.
struct WatchedName: Hashable, Sendable {
    var root: Int
    var relative: String
}

/// One stretch of a watch, for one set of settings (a reload starts the next): the tree is
/// walked and brought up to date (what changed while nobody watched), then every folder is
/// watched with inotify. A file is taken once it is complete — closed after writing or moved
/// in, then quiet for the settle time — and handed to an open-ended run (`InputQueue`), which
/// plans and makes it as a run would; the job store decides whether it changed. A name is never
/// in hand twice: one that changes while being made is looked at again when done.
public final class WatchSession: @unchecked Sendable {
    private let runner: BatchRunner
    private let settings: WatchSettings
    private let output: WatchOutput
    private let walker: InputWalker
    private let roots: [(path: String, level: String)]

    // The loop thread's own.
    private var settle: SettleQueue<WatchedName>
    private var folders: [Int32: WatchedName] = [:]
    private var watchOf: [WatchedName: Int32] = [:]
    /// Folders the last attempts could not watch, and whether that was said.
    private var unwatched: Set<WatchedName> = []
    private var saidUnwatched = false
    private var rescanInterval: Double?
    private var inHandPaths: [String: WatchedName] = [:]
    /// Names a walk found and no event has spoken of since: their writer may still be at it.
    private var foundByWalk: Set<WatchedName> = []

    // Shared with the run's threads.
    private let doneInputs = Mutex<[String]>([])
    /// A pipe the run's threads write a byte to when a file is done, to wake the watch's loop.
    private let wake: Int32
    private let wakeWriter: Int32
    private let current = Mutex(WatchStatus())
    /// The run's queue while it runs.
    private let queued = Mutex<InputQueue?>(nil)

    /// `runner` makes the files (its recorder, a job store's, decides what is up to date: a watch
    /// needs one); its options' inputs are the folders watched.
    public init(runner: BatchRunner, settings: WatchSettings, output: WatchOutput) {
        self.runner = runner
        self.settings = settings
        self.output = output
        let options = runner.options
        var walker = InputWalker(include: options.include, exclude: options.exclude + WatchSettings.temporaryNames,
                                 followSymlinks: options.followSymlinks, skipFolders: [options.outputDirectory])
        walker.recordsFolders = true
        self.walker = walker
        // As a run names them: with several different folders, each under its own name.
        let distinct = Set(options.inputs.compactMap { FileSystem.status($0).map { [UInt64($0.st_dev), UInt64($0.st_ino)] } })
        roots = options.inputs.map { ($0, InputWalker.level(of: $0, severalFolders: distinct.count > 1)) }
        settle = SettleQueue(settle: settings.settle)
        rescanInterval = settings.rescanInterval
        var ends: [Int32] = [-1, -1]
        // pipe2 is not in Swift's Glibc (it needs _GNU_SOURCE): the flags are set one by one.
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFL, O_NONBLOCK)
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            }
        } else {
            ends = [-1, -1]
        }
        (wake, wakeWriter) = (ends[0], ends[1])
    }

    deinit {
        close(wake)
        close(wakeWriter)
    }

    /// Where the watch stands now.
    public var status: WatchStatus { current.withLock { $0 } }

    /// Files seen and not yet started: settling, or handed to the run and waiting for a worker.
    public var queueDepth: Int {
        let (status, waiting) = (status, queued.withLock { $0?.waitingCount ?? 0 })
        return status.settling + waiting
    }

    /// Watches until `control` stops it (files in flight finish; those queued are left to the
    /// next start's catch-up), then returns the run's report (counts only: a watch keeps no
    /// file's report).
    public func run(control: BatchControl, events: [any BatchEventSubscriber]) throws(WatchError) -> BatchReport {
        let inotify = try Inotify()
        // The queue holds this session until the run ends, no longer.
        let queue = InputQueue(planner: runner.planner()) { [self] file, report in
            doneInputs.withLock { $0.append(file.input.path) }
            current.withLock { status in
                status.done += 1
                if report.status == .failed { status.failed += 1 }
            }
            var byte: UInt8 = 1
            _ = write(wakeWriter, &byte, 1)     // a full pipe wakes the loop as well
        }
        queued.withLock { $0 = queue }
        defer { queued.withLock { $0 = nil } }
        let result = Mutex<BatchReport?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let runner = runner
        DetachedThread.start(name: "fastresize.run") {
            result.withLock { $0 = runner.run(source: queue, control: control, events: events, keepReports: false) }
            finished.signal()
        }
        let caughtUp = rescan(queue: queue, inotify: inotify, removals: settings.deleteOutputs)
        output.note("watching \(folders.count) folder\(folders.count == 1 ? "" : "s") (\(caughtUp) file\(caughtUp == 1 ? "" : "s") to catch up); "
                    + "a file is taken once quiet for \(Self.seconds(settings.settle))")
        var nextRescan = rescanInterval.map { Self.now() + $0 }
        var pollers = [pollfd(fd: inotify.descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while control.stoppedBy == nil {
            var now = Self.now()
            for path in doneInputs.withLock({ done in defer { done.removeAll() }; return done }) {
                if let name = inHandPaths.removeValue(forKey: path) { settle.done(name, at: now) }
            }
            for name in settle.due(at: now) { look(at: name, queue: queue, now: now) }
            publish()
            // Woken by inotify, by a file done, or by the next due name; at least five times a
            // second, to notice a stop.
            var wait = 0.2
            if let due = settle.nextDue { wait = min(wait, max(0, due - now)) }
            if let nextRescan { wait = min(wait, max(0, nextRescan - now)) }
            pollers[0].revents = 0
            pollers[1].revents = 0
            _ = poll(&pollers, 2, Int32((wait * 1000).rounded(.up)))
            if pollers[1].revents != 0 {
                var bytes = [UInt8](repeating: 0, count: 256)
                while read(wake, &bytes, bytes.count) > 0 {}
            }
            var overflowed = false
            var folderGone = false
            if pollers[0].revents != 0 {
                now = Self.now()
                for event in inotify.read() {
                    switch handle(event, inotify: inotify, now: now) {
                    case .overflow: overflowed = true
                    case .folderGone: folderGone = true
                    case .none: break
                    }
                }
            }
            if overflowed {
                // What was pending may have lost its closing event: the rescan judges it afresh.
                settle.clearPending()
                output.note("the kernel dropped file events (inotify's queue overflowed): rescanning the tree, nothing is lost")
            }
            let rescanDue = nextRescan.map { Self.now() >= $0 } ?? false
            if overflowed || rescanDue || folderGone && settings.deleteOutputs {
                _ = rescan(queue: queue, inotify: inotify, removals: settings.deleteOutputs)
                nextRescan = rescanInterval.map { Self.now() + $0 }
            }
        }
        // The run closes the queue once stopped: files in flight finish, queued ones are reported not started.
        finished.wait()
        return result.withLock { $0! }
    }

    /// What one event calls for beyond the names it touched.
    private enum Aftermath { case none, overflow, folderGone }

    private func handle(_ event: InotifyEvent, inotify: Inotify, now: Double) -> Aftermath {
        if event.has(IN_Q_OVERFLOW) { return .overflow }
        guard let folder = folders[event.watch] else { return .none }
        if event.has(IN_IGNORED) {
            // The folder is gone (or no longer watched): its watch with it.
            folders[event.watch] = nil
            if watchOf[folder] == event.watch { watchOf[folder] = nil }
            return .none
        }
        if event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF) {
            if folder.relative.isEmpty {
                output.note("\(roots[folder.root].path): the watched folder itself was \(event.has(IN_DELETE_SELF) ? "deleted" : "moved"); "
                            + "what is left of it is still watched")
            }
            return .none
        }
        let relative = folder.relative.isEmpty ? event.name : folder.relative + "/" + event.name
        let name = WatchedName(root: folder.root, relative: relative)
        if event.isFolder {
            if event.has(IN_CREATE) || event.has(IN_MOVED_TO) {
                addTree(name, inotify: inotify, now: now)
            } else if event.has(IN_DELETE) || event.has(IN_MOVED_FROM) {
                dropTree(name, inotify: inotify)
                return .folderGone
            }
            return .none
        }
        guard walker.takes(file: relative), isMine(name) else { return .none }
        foundByWalk.remove(name)
        if event.has(IN_CREATE) {
            // Made open for writing — unless it is a link (a symbolic one, or a second name of a
            // file made elsewhere, as `ln` or `cp -l` make), which no close will follow.
            let isLink = FileSystem.status(path(of: name), followLinks: false)
                .map { $0.st_mode & S_IFMT == S_IFLNK || $0.st_nlink > 1 } ?? false
            settle.saw(name, isLink ? .settled : .writing, at: now)
        } else if event.has(IN_MODIFY) {
            settle.saw(name, .writing, at: now)
        } else {
            // Closed after writing, moved in, deleted or moved away: what is there is looked at once quiet.
            settle.saw(name, .settled, at: now)
        }
        return .none
    }

    /// A name is due: a complete, quiet file is handed to the run; a name whose file is gone
    /// takes FastResize's outputs of it along (--delete-outputs).
    private func look(at name: WatchedName, queue: InputQueue, now: Double) {
        let path = path(of: name)
        let walked = foundByWalk.remove(name) != nil
        guard let status = FileSystem.status(path, followLinks: walker.followSymlinks) else {
            if errno == ENOENT { remove(name) }
            return
        }
        guard status.st_mode & S_IFMT == S_IFREG else { return }
        // Found by a walk (in a folder just made) and modified within the settle time: its
        // writer may have opened it before the folder was watched, so no close would be seen.
        // One an event spoke of is judged by its events: a file written and then moved in at
        // once is complete, and not kept waiting.
        if walked {
            let age = Self.wallClock() - (Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
            if age < settings.settle {
                foundByWalk.insert(name)
                settle.later(name, after: settings.settle - max(0, age), at: now)
                return
            }
        }
        var input = InputFile(path: path, relativePath: roots[name.root].level + name.relative, isExplicit: false,
                              size: Int(status.st_size))
        input.stamp = FileStamp(status)
        hand(input, name: name, to: queue)
    }

    private func hand(_ input: InputFile, name: WatchedName, to queue: InputQueue) {
        settle.handOut(name)
        inHandPaths[input.path] = name
        if !queue.add(input) {
            settle.done(name, at: Self.now())
            inHandPaths[input.path] = nil
        }
    }

    private func remove(_ name: WatchedName) {
        guard settings.deleteOutputs, let orphan = runner.recorder?.orphan(roots[name.root].level + name.relative) else { return }
        output.removed(runner.prune(orphan))
    }

    /// Walks the whole tree: folders not yet watched are watched, files not up to date (by the
    /// job store) are handed over — or wait, while still being written — and, with `removals`
    /// and a walk that read every folder, inputs on record that are gone take their outputs
    /// along. Returns how many files were handed over or wait.
    private func rescan(queue: InputQueue, inotify: Inotify, removals: Bool) -> Int {
        current.withLock { $0.rescanning = true }
        defer { current.withLock { $0.rescanning = false } }
        var found: [(WatchedName, InputFile)] = []
        var complete = true
        for (index, root) in roots.enumerated() {
            let walk = watchedWalk(below: "", root: index, inotify: inotify)
            complete = complete && walk.failures.isEmpty
            found += walk.files.map { (WatchedName(root: index, relative: String($0.relativePath.dropFirst(root.level.count))), $0) }
                .filter { isMine($0.0) }
        }
        sayIfUnwatched()
        // Those being made, or open for writing (a slow writer between two writes), are left to
        // their own events.
        let candidates = found.filter { !settle.isInHand($0.0) && !settle.isWriting($0.0) }
        let recalled = runner.recorder?.recall(candidates.map(\.1)) ?? candidates.map { _ in .unknown }
        var taken = 0
        let now = Self.now()
        for ((name, input), recollection) in zip(candidates, recalled) {
            if case .upToDate = recollection { continue }
            taken += 1
            let age = Self.wallClock() - Double(input.stamp?.modifiedNs ?? 0) / 1e9
            if age < settings.settle {
                foundByWalk.insert(name)
                settle.later(name, after: settings.settle - max(0, age), at: now)
            } else {
                hand(input, name: name, to: queue)
            }
        }
        if removals, complete, let recorder = runner.recorder {
            // Another shard's inputs are not gone, only not this watch's.
            for orphan in recorder.orphans(walked: found.map(\.1)) where runner.options.shard?.takes(orphan.input) ?? true {
                output.removed(runner.prune(orphan))
            }
        }
        return taken
    }

    /// A folder made or moved in: it and every folder below it are watched, and its files looked
    /// at once quiet (those moved in with it are complete; those being written wait).
    private func addTree(_ folder: WatchedName, inotify: Inotify, now: Double) {
        guard walker.enters(folder: folder.relative) else { return }
        watch(folder, with: inotify)
        let root = roots[folder.root]
        for file in watchedWalk(below: folder.relative, root: folder.root, inotify: inotify).files {
            let name = WatchedName(root: folder.root, relative: String(file.relativePath.dropFirst(root.level.count)))
            guard isMine(name) else { continue }
            foundByWalk.insert(name)
            settle.saw(name, .settled, at: now)
        }
    }

    /// Walks the tree below `relative` and watches every folder found that is not watched yet,
    /// then walks again while that found new folders: a folder is listed only after it is
    /// watched, so a file made in it at any moment is seen by its watch or by a listing.
    private func watchedWalk(below relative: String, root index: Int, inotify: Inotify) -> InputWalk {
        let root = roots[index]
        while true {
            let walk = walker.collect(below: relative, of: root.path, level: root.level)
            let fresh = walk.folders.map { WatchedName(root: index, relative: $0) }.filter { watchOf[$0] == nil }
            let before = folders.count
            for folder in fresh { watch(folder, with: inotify) }
            // Done when nothing new could be watched (none found, or none left to the limit).
            if folders.count == before { return walk }
        }
    }

    /// A folder deleted or moved away: its watches, and those of the folders below it, go.
    private func dropTree(_ folder: WatchedName, inotify: Inotify) {
        let prefix = folder.relative + "/"
        for (watch, name) in folders where name.root == folder.root && (name.relative == folder.relative || name.relative.hasPrefix(prefix)) {
            inotify.unwatch(watch)
            folders[watch] = nil
            watchOf[name] = nil
        }
        unwatched = unwatched.filter { $0.root != folder.root || $0.relative != folder.relative && !$0.relative.hasPrefix(prefix) }
    }

    private func watch(_ folder: WatchedName, with inotify: Inotify) {
        if let limit = settings.watchLimit, folders.count >= limit {
            unwatched.insert(folder)
            return
        }
        switch inotify.watch(path(of: folder), followLinks: walker.followSymlinks) {
        case .success(let watch):
            folders[watch] = folder
            watchOf[folder] = watch
            unwatched.remove(folder)
        case .failure(let error) where error.code == ENOSPC:
            unwatched.insert(folder)
        case .failure(let error) where error.code == ENOENT || error.code == ENOTDIR:
            return      // gone already: its removal is an event of its parent
        case .failure(let error):
            output.note("\(path(of: folder)): cannot watch this folder: \(error.text); it is rescanned instead")
            unwatched.insert(folder)
        }
    }

    /// Folders inotify could not watch are said once, with what to do, and from then on the
    /// tree is rescanned on a timer (each rescan tries to watch them again).
    private func sayIfUnwatched() {
        guard !unwatched.isEmpty, !saidUnwatched else { return }
        saidUnwatched = true
        let limit = settings.watchLimit ?? (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_user_watches", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        let interval = rescanInterval ?? WatchSettings.fallbackRescanInterval
        let needed = folders.count + unwatched.count
        output.note("inotify ran out of watches: \(unwatched.count) of \(needed) folders are not watched (the kernel's "
                    + "fs.inotify.max_user_watches is \(limit), shared by every program of this user, and this tree needs \(needed) "
                    + "of them): raise it, e.g. `sysctl -w fs.inotify.max_user_watches=\(limit + 2 * needed)`, and in "
                    + "/etc/sysctl.d/ to keep it; until then the tree is rescanned every \(Self.seconds(interval))")
        rescanInterval = interval
    }

    private func publish() {
        let (folders, settling, inHand) = (folders.count, settle.pendingCount, settle.inHandCount)
        current.withLock { status in
            status.folders = folders
            status.settling = settling
            status.inHand = inHand
        }
    }

    /// Whether a file is this watch's to make: with --shard, only its shard's (N watchers on one
    /// tree share it as N runs do).
    private func isMine(_ name: WatchedName) -> Bool {
        runner.options.shard?.takes(roots[name.root].level + name.relative) ?? true
    }

    private func path(of name: WatchedName) -> String {
        let root = roots[name.root].path
        if name.relative.isEmpty { return root }
        return root.hasSuffix("/") ? root + name.relative : root + "/" + name.relative
    }

    /// Seconds on a clock that only goes forward (the settle times).
    static func now() -> Double { RunGauges.now() }

    /// Seconds since 1970 (file modification times).
    static func wallClock() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func seconds(_ value: Double) -> String {
        value < 1 ? "\(Int((value * 1000).rounded())) ms" : String(format: "%g s", value)
    }
}
