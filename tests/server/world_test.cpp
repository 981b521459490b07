// The emulated world: its files and links, the shared memory, the storage,
// its removal — and the proof that matters: libudev, called as the daemon
// calls it, finds the rmtfs_mem region under umockdev.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "server/process.hpp"
#include "server/umockdev_ioctl.hpp"
#include "server/world.hpp"
#include "tests/support/event_loop.hpp"
#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil::server {
namespace {

namespace fs = std::filesystem;
using testing::run_until;

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes read_bytes(const fs::path& path) {
    std::string text = read_text(path);
    return Bytes(text.begin(), text.end());
}

World make_world(const BoardProfile& board = default_board(), WorldOptions options = {}) {
    auto world = World::create({}, board, std::move(options));
    if (!world) ADD_FAILURE() << world.error().message;
    return std::move(world).value();
}

using testing::ScratchDirectory;

TEST(World, LaysOutTheRmtfsMemDeviceLikeTheKernel) {
    World world = make_world();
    fs::path sys = world.umockdev_dir() / "sys";
    fs::path device = sys / "devices/platform/88f00000.rmtfs/rmtfs/qcom_rmtfs_mem1";
    EXPECT_EQ(read_text(device / "uevent"), "MAJOR=246\nMINOR=1\nDEVNAME=qcom_rmtfs_mem1\n");
    EXPECT_EQ(read_text(device / "dev"), "246:1\n");
    EXPECT_EQ(read_text(device / "phys_addr"), "0x0000000088f00000\n") << "the kernel's %pa";
    EXPECT_EQ(read_text(device / "size"), "0x0000000000200000\n");
    EXPECT_EQ(read_text(device / "client_id"), "1\n");
    EXPECT_EQ(fs::canonical(sys / "dev/char/246:1"), fs::canonical(device));
    EXPECT_EQ(fs::canonical(sys / "class/rmtfs/qcom_rmtfs_mem1"), fs::canonical(device));
    EXPECT_EQ(fs::canonical(device / "subsystem"), fs::canonical(sys / "class/rmtfs"));
    EXPECT_TRUE(fs::read_symlink(device / "subsystem").is_relative()) << "sysfs links are relative";
    fs::path platform = sys / "devices/platform/88f00000.rmtfs";
    EXPECT_EQ(fs::canonical(platform / "subsystem"), fs::canonical(sys / "bus/platform"));
    EXPECT_EQ(fs::canonical(platform / "driver"), fs::canonical(sys / "bus/platform/drivers/qcom_rmtfs_mem"));
    EXPECT_EQ(read_text(platform / "modalias"), "of:NrmtfsT(null)Cqcom,rmtfs-mem\n");
}

TEST(World, BacksTheCharDeviceWithARegionSizedFile) {
    World world = make_world();
    EXPECT_EQ(world.shared_memory_file(), world.umockdev_dir() / "dev/qcom_rmtfs_mem1");
    EXPECT_TRUE(fs::is_regular_file(world.shared_memory_file()));
    EXPECT_EQ(fs::file_size(world.shared_memory_file()), 0x200000u);
    EXPECT_EQ(fs::read_symlink(world.umockdev_dir() / "dev/.node/qcom_rmtfs_mem1"), "246:1");
    EXPECT_EQ(read_text(world.devices_file()).substr(0, read_text(world.devices_file()).find('\n') + 1),
              "c 246 1 " + world.shared_memory_file().string() + "\n");
    EXPECT_TRUE(world.shared_memory_file().is_absolute());
    struct stat socket_info{};
    ASSERT_EQ(::stat((world.umockdev_dir() / "ioctl/_default").c_str(), &socket_info), 0);
    EXPECT_TRUE(S_ISSOCK(socket_info.st_mode)) << "umockdev's preload connects here on open()";
}

TEST(World, TheEfsPartitionsAreBlockDevicesOverTheStorageFiles) {
    WorldOptions options;
    options.partition_size_bytes = 8192;
    World world = make_world(default_board(), options);
    fs::path dev = world.umockdev_dir() / "dev";
    const auto& devices = world.partition_devices();
    ASSERT_EQ(devices.size(), 4u);
    EXPECT_EQ(devices[0].label, "modemst1");
    EXPECT_EQ(devices[0].node, "/dev/sde1");
    EXPECT_EQ(devices[0].major, 8u);
    EXPECT_EQ(devices[0].minor, 65u);
    EXPECT_EQ(devices[0].size_bytes, 8192u);
    EXPECT_EQ(devices[3].label, "fsc");
    EXPECT_EQ(devices[3].node, "/dev/sde4");
    // The node is the storage file: the same bytes whichever name the daemon uses.
    EXPECT_TRUE(fs::equivalent(dev / "sde1", world.storage_dir() / "modem_fs1"));
    EXPECT_NE(fs::status(dev / "sde1").permissions() & fs::perms::sticky_bit, fs::perms::none)
        << "umockdev shows a sticky testbed file as a block device";
    for (const char* by_name : {"disk/by-partlabel", "block/by-name", "block/platform/soc@0/1d84000.ufshc/by-name"}) {
        fs::path link = dev / by_name / "modemst2";
        EXPECT_TRUE(fs::read_symlink(link).is_relative()) << link;
        EXPECT_TRUE(fs::equivalent(link, world.storage_dir() / "modem_fs2")) << link;
    }
    EXPECT_EQ(fs::read_symlink(dev / ".node/sde3"), "8:67");
    EXPECT_EQ(fs::read_symlink(dev / ".node/disk_by-partlabel_fsg"), "8:67");
    fs::path sysfs = world.umockdev_dir() / "sys/class/block/sde1";
    EXPECT_EQ(read_text(sysfs / "size"), "16\n");
    EXPECT_NE(read_text(sysfs / "uevent").find("PARTNAME=modemst1\n"), std::string::npos);
    EXPECT_TRUE(fs::equivalent(world.umockdev_dir() / "sys/dev/block/8:65", sysfs));
    EXPECT_NE(read_text(world.devices_file()).find("b 8 65 " + (dev / "sde1").string() + "\n"), std::string::npos);

    World small = make_world(*find_board("apq8016"));
    EXPECT_EQ(small.partition_devices()[0].node, "/dev/mmcblk0p8");
    EXPECT_TRUE(fs::exists(small.umockdev_dir() / "dev/block/platform/soc@0/7824900.mmc/by-name/fsc"));
}

TEST(World, LaysOutTheModemRemoteproc) {
    World world = make_world();
    fs::path sys = world.umockdev_dir() / "sys";
    fs::path rproc = sys / "class/remoteproc/remoteproc0";
    EXPECT_EQ(fs::canonical(rproc), fs::canonical(sys / "devices/platform/4080000.remoteproc/remoteproc/remoteproc0"));
    EXPECT_EQ(read_text(rproc / "name"), "4080000.remoteproc\n");
    EXPECT_EQ(read_text(rproc / "state"), "offline\n");
    EXPECT_EQ(read_text(rproc / "device/modalias"), "of:NremoteprocT(null)Cqcom,sdm845-mss-pil\n");
    EXPECT_EQ(world.remoteproc_state_file(), world.umockdev_dir() / "sys/class/remoteproc/remoteproc0/state");
    EXPECT_EQ(world.remoteproc_state_path(), "/sys/class/remoteproc/remoteproc0/state");
    // rmtfs -s falls back to the driver's directory.
    EXPECT_TRUE(fs::exists(sys / "bus/platform/drivers/qcom-q6v5-mss/4080000.remoteproc/remoteproc/remoteproc0/state"));
}

TEST(World, MakesZeroedStorageFilesOfTheAskedSize) {
    WorldOptions options;
    options.partition_size_bytes = 64 * 1024;
    World world = make_world(default_board(), options);
    EXPECT_EQ(world.storage_dir(), world.root() / "storage");
    for (const char* label : {"modemst1", "modemst2", "fsg", "fsc"}) {
        auto file = world.partition_file(label);
        ASSERT_TRUE(file) << file.error().message;
        EXPECT_EQ(fs::file_size(*file), 64u * 1024) << label;
        EXPECT_EQ(read_bytes(*file), Bytes(64 * 1024, 0)) << label;
    }
    EXPECT_EQ(world.partition_file("modemst1")->filename(), "modem_fs1");
    EXPECT_FALSE(world.partition_file("study"));
}

TEST(World, PatternStorageIsDeterministicPerSeedAndPartition) {
    WorldOptions options;
    options.partition_size_bytes = 4096 + 3;  // not a multiple of the generator's word
    options.storage_content = StorageContent::pattern(42);
    World first = make_world(default_board(), options);
    World second = make_world(default_board(), options);
    options.storage_content = StorageContent::pattern(43);
    World other_seed = make_world(default_board(), options);

    Bytes fs1 = read_bytes(*first.partition_file("modemst1"));
    EXPECT_EQ(fs1.size(), 4099u);
    EXPECT_EQ(fs1, read_bytes(*second.partition_file("modemst1"))) << "same seed, same bytes";
    EXPECT_NE(fs1, read_bytes(*first.partition_file("modemst2"))) << "each partition its own stream";
    EXPECT_NE(fs1, read_bytes(*other_seed.partition_file("modemst1")));
    EXPECT_NE(fs1, Bytes(fs1.size(), 0));
}

TEST(World, CopiesStorageFromASnapshotDirectoryOrOneFile) {
    ScratchDirectory snapshot;
    for (const char* name : {"modem_fs1", "modem_fs2", "modem_fsg", "modem_fsc"}) std::ofstream(snapshot.path / name) << name;
    WorldOptions options;
    options.storage_content = StorageContent::copy_from(snapshot.path);
    World from_directory = make_world(default_board(), options);
    EXPECT_EQ(read_text(*from_directory.partition_file("fsg")), "modem_fsg");

    options.storage_content = StorageContent::copy_from(snapshot.path / "modem_fs1");
    World from_file = make_world(default_board(), options);
    EXPECT_EQ(read_text(*from_file.partition_file("fsc")), "modem_fs1");

    options.storage_content = StorageContent::copy_from(snapshot.path / "missing");
    auto failed = World::create({}, default_board(), options);
    ASSERT_FALSE(failed);
    EXPECT_NE(failed.error().message.find("missing"), std::string::npos) << failed.error().message;
}

TEST(World, SharedMemoryIsAddressedByPhysicalAddressWithinTheRegion) {
    World world = make_world();
    const std::uint64_t base = 0x88f00000;
    const std::uint64_t end = base + 0x200000;
    Bytes sector(512);
    for (std::size_t i = 0; i < sector.size(); ++i) sector[i] = static_cast<std::uint8_t>(i * 7);

    auto written = world.write_shared_memory(base + 0x1000, sector);
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_EQ(*written, 512u);
    auto back = world.read_shared_memory(base + 0x1000, 512);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, sector);
    // What the daemon pwrites at offset phys - phys_addr is what the modem reads.
    Bytes file = read_bytes(world.shared_memory_file());
    EXPECT_EQ(Bytes(file.begin() + 0x1000, file.begin() + 0x1000 + 512), sector);

    EXPECT_TRUE(world.write_shared_memory(end - 2, Bytes{1, 2})) << "the last bytes are inside";
    EXPECT_TRUE(world.read_shared_memory(end, 0)) << "an empty access at the end is inside";
    auto past_end = world.write_shared_memory(end - 1, Bytes{1, 2});
    ASSERT_FALSE(past_end);
    EXPECT_NE(past_end.error().message.find("outside the rmtfs_mem region"), std::string::npos)
        << past_end.error().message;
    EXPECT_FALSE(world.read_shared_memory(base - 1, 1)) << "below the region";
    EXPECT_FALSE(world.read_shared_memory(0xffffffffffffff00ull, 0x200)) << "no wrap-around";
    EXPECT_FALSE(world.read_shared_memory(base, 0x200001));
    EXPECT_EQ(fs::file_size(world.shared_memory_file()), 0x200000u) << "a refused write changes nothing";
}

TEST(World, EnvironmentPointsProgramsIntoTheWorld) {
    ScratchDirectory scratch;
    fs::path shim = scratch.path / "librmtfs-hil-shim.so";
    std::ofstream(shim) << "";
    WorldOptions options;
    options.shim_library = shim;
    World world = make_world(default_board(), options);
    auto environment = world.environment({"PATH=/usr/bin", "LD_PRELOAD=/opt/user.so", "UMOCKDEV_DIR=/elsewhere"});
    auto value = [&](const std::string& name) -> std::string {
        std::string found;
        int count = 0;
        for (const auto& entry : environment)
            if (entry.rfind(name + "=", 0) == 0) {
                found = entry.substr(name.size() + 1);
                ++count;
            }
        EXPECT_LE(count, 1) << name << " appears twice";
        return found;
    };
    EXPECT_EQ(value("PATH"), "/usr/bin");
    EXPECT_EQ(value("RMTFS_HIL_WORLD"), world.root().string());
    EXPECT_EQ(value("UMOCKDEV_DIR"), world.umockdev_dir().string());
    EXPECT_EQ(value("RMTFS_HIL_STORAGE"), world.storage_dir().string());
    EXPECT_EQ(value("LD_PRELOAD"), shim.string() + ":" + world.umockdev_preload().string() + ":/opt/user.so");
}

TEST(World, RemovesTheDirectoryItCreated) {
    fs::path root;
    {
        World world = make_world();
        root = world.root();
        EXPECT_EQ(root.filename().string().rfind("rmtfs-hil-", 0), 0u) << root;
        EXPECT_TRUE(fs::exists(root));
        World moved = std::move(world);
        EXPECT_TRUE(fs::exists(root)) << "moving hands over ownership, nothing is removed";
        std::ofstream(root / "trace.log") << "the harness's own file";
    }
    EXPECT_FALSE(fs::exists(root)) << "an owned directory goes whole, with what the harness added";
}

TEST(World, KeepsTheDirectoryWhenAsked) {
    fs::path root;
    {
        World world = make_world();
        root = world.root();
        world.keep(true);
    }
    EXPECT_TRUE(fs::exists(root / "umockdev/sys"));
    fs::remove_all(root);
}

TEST(World, LeavesAUsersStorageDirectoryAlone) {
    ScratchDirectory user_storage;
    std::ofstream(user_storage.path / "modem_fs1") << "calibration";
    fs::path root;
    {
        WorldOptions options;
        options.storage = user_storage.path;
        World world = make_world(default_board(), options);
        root = world.root();
        EXPECT_TRUE(world.storage_is_users());
        EXPECT_EQ(world.storage_dir(), fs::canonical(user_storage.path));
        EXPECT_FALSE(fs::exists(root / "storage"));
        EXPECT_EQ(*world.partition_file("modemst1"), fs::canonical(user_storage.path) / "modem_fs1");
        EXPECT_FALSE(fs::exists(user_storage.path / "modem_fs2")) << "nothing is added to the user's directory";
        // Only the partition the user's storage has becomes a device.
        ASSERT_EQ(world.partition_devices().size(), 1u);
        EXPECT_EQ(world.partition_devices()[0].label, "modemst1");
        EXPECT_EQ(read_text(world.umockdev_dir() / "dev/disk/by-partlabel/modemst1"), "calibration");
        EXPECT_FALSE(fs::exists(world.umockdev_dir() / "dev/disk/by-partlabel/modemst2"));
    }
    EXPECT_EQ(fs::status(user_storage.path / "modem_fs1").permissions() & fs::perms::sticky_bit, fs::perms::none)
        << "a user's file keeps its mode";
    EXPECT_FALSE(fs::exists(root));
    EXPECT_EQ(read_text(user_storage.path / "modem_fs1"), "calibration");
    EXPECT_EQ(std::distance(fs::directory_iterator(user_storage.path), fs::directory_iterator()), 1);

    WorldOptions missing;
    missing.storage = user_storage.path / "nope";
    EXPECT_FALSE(World::create({}, default_board(), missing));
}

TEST(World, InAGivenDirectoryRemovesOnlyWhatItMade) {
    ScratchDirectory parent;
    fs::path fresh = parent.path / "fresh";
    { World world = World::create(fresh, default_board()).value(); }
    EXPECT_FALSE(fs::exists(fresh)) << "a directory the World created is the World's";

    fs::path existing = parent.path / "existing";
    fs::create_directory(existing);
    {
        World world = World::create(existing, default_board()).value();
        std::ofstream(existing / "trace.log") << "the harness's own file";
    }
    EXPECT_TRUE(fs::exists(existing));
    EXPECT_TRUE(fs::exists(existing / "trace.log")) << "not the World's to remove";
    fs::remove(existing / "trace.log");

    std::ofstream(existing / "somebody's file") << "x";
    ASSERT_FALSE(fs::is_empty(existing));
    auto refused = World::create(existing, default_board());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("not empty"), std::string::npos);
    EXPECT_TRUE(fs::exists(existing / "somebody's file"));
}

TEST(World, ItsRootIsCanonicalSoTheShimCanMatchFdPaths) {
    ScratchDirectory parent;
    fs::create_directory(parent.path / "real");
    fs::create_directory_symlink(parent.path / "real", parent.path / "link");
    World world = World::create(parent.path / "link" / "world", default_board()).value();
    EXPECT_EQ(world.root(), fs::canonical(parent.path) / "real" / "world");
    EXPECT_TRUE(read_text(world.devices_file())
                    .starts_with("c 246 1 " + (world.root() / "umockdev/dev/qcom_rmtfs_mem1").string() + "\n"));
}

TEST(World, SaysWhenUmockdevIsMissing) {
    WorldOptions options;
    options.umockdev_preload = "/nonexistent/libumockdev-preload.so.0";
    auto world = World::create({}, default_board(), options);
    ASSERT_FALSE(world);
    EXPECT_NE(world.error().message.find("umockdev"), std::string::npos) << world.error().message;
}

// The real consumer: a C program making rmtfs's libudev calls (and rmtfs -s's
// remoteproc scan, and the open of the node) under umockdev's preload.
class WorldUnderUmockdev : public ::testing::TestWithParam<const BoardProfile*> {};

TEST_P(WorldUnderUmockdev, LibudevFindsTheRegionAsTheDaemonAsksForIt) {
    const BoardProfile& board = *GetParam();
    World world = make_world(board);
    boost::asio::io_context io;
    UmockdevIoctlPassthrough ioctl_service(io, world);

    std::vector<std::string> lines;
    std::optional<ProcessExit> exit;
    ProcessEvents events;
    events.output = [&](const OutputLine& line) { lines.push_back(line.text); };
    events.ended = [&](const ProcessEnded& ended) { exit = ended.exit; };
    const RmtfsMemRegion& region = board.rmtfs_mem;
    LaunchSpec probe{{RMTFS_HIL_UDEV_PROBE, std::to_string(region.major), std::to_string(region.minor()),
                      "/dev/" + region.device_name()},
                     world.environment(current_environment()),
                     {}};
    SupervisedProcess process(io, probe, events);
    auto started = process.start();
    ASSERT_TRUE(started) << started.error().message;
    ASSERT_TRUE(run_until(io, [&] { return exit.has_value(); }));

    std::string output;
    for (const auto& line : lines) output += line + "\n";
    auto expect_line = [&](const std::string& line) {
        EXPECT_NE(std::find(lines.begin(), lines.end(), line), lines.end()) << "missing \"" << line << "\" in:\n" << output;
    };
    expect_line("syspath=/sys/devices/platform/" + region.platform_device + "/rmtfs/" + region.device_name());
    expect_line("subsystem=rmtfs");
    expect_line("phys_addr=" + hex(region.phys_addr, 1));
    expect_line("size=" + hex(region.size_bytes, 1));
    expect_line("remoteproc=" + board.modem.class_device);
    expect_line("modalias=" + board.modem.modalias);
    expect_line("state=offline");
    expect_line("open=ok");
    expect_line("stat=char " + std::to_string(region.major) + ":" + std::to_string(region.minor()));
    expect_line("result=complete");
    EXPECT_EQ(*exit, ProcessExit::exited(0)) << output;
    EXPECT_EQ(ioctl_service.connections_accepted(), 1u) << "the open() reached umockdev's ioctl socket";
}

INSTANTIATE_TEST_SUITE_P(Boards, WorldUnderUmockdev,
                         ::testing::ValuesIn(known_boards().begin(), known_boards().end()),
                         [](const ::testing::TestParamInfo<const BoardProfile*>& param_info) { return param_info.param->name; });

TEST(WorldUnderUmockdev, WithoutTheDeviceTreeLibudevFindsNothing) {
    // The control experiment: the same probe outside the world fails, so the
    // test above proves the world, not the machine.
    boost::asio::io_context io;
    std::optional<ProcessExit> exit;
    ProcessEvents events;
    events.ended = [&](const ProcessEnded& ended) { exit = ended.exit; };
    SupervisedProcess process(io, LaunchSpec{{RMTFS_HIL_UDEV_PROBE, "246", "1"}, current_environment(), {}}, events);
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return exit.has_value(); }));
    EXPECT_EQ(*exit, ProcessExit::exited(1));
}

}  // namespace
}  // namespace rmtfs_hil::server
