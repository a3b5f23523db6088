// Region backings (weft/mapping.h): memory-mapped files and POSIX shared
// memory, and formatting / attaching a TurnLog or LockTable on them. One
// process, no fork (these run in every preset, TSan included); the
// multi-process tests are tests/crash/ and tests/multiprocess/.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "weft/mapping.h"
#include "weft/log_inspect.h"
#include "weft/recovery.h"

namespace weft::testing {
namespace {

namespace fs = std::filesystem;

TurnLog::Config small_config() {
  TurnLog::Config c;
  c.segment_bytes = 4096;
  c.segment_count = 4;
  c.thread_capacity = 16;
  c.exchanges_per_thread = 4;
  c.reader_slots = 4;
  return c;
}

// Restores the process umask when the test ends.
struct UmaskScope {
  mode_t old;
  explicit UmaskScope(mode_t mask) : old(::umask(mask)) {}
  ~UmaskScope() { ::umask(old); }
};

class MappingTest : public ::testing::Test {
 public:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "weft-mapping-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    shm_name = "/weft-test-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (shm_name.size() > 200) shm_name.resize(200);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    (void)unlink_shm(shm_name.c_str());
  }
  std::string path(const char* name) const { return (fs::path(dir) / name).string(); }
  static void write_file(const std::string& p, const std::vector<unsigned char>& bytes) {
    FILE* f = std::fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }
  // A log file with `turns` committed exchanges of one turn each on thread "t".
  void make_log_file(const std::string& p, int exchanges) {
    MapResult m = create_file_mapping(p.c_str(), TurnLog::region_bytes(small_config()));
    ASSERT_EQ(m.status, MapStatus::ok);
    TurnLog log;
    ASSERT_EQ(format_log(m.mapping, small_config(), steady_clock(), &log), MapStatus::ok);
    for (int i = 0; i < exchanges; i++) append_exchange(log, "t", "r" + std::to_string(i), "q" + std::to_string(i));
  }
  static void append_exchange(TurnLog& log, const std::string& thread, const std::string& request,
                              const std::string& text) {
    const BeginResult b = log.begin_exchange(id_from_string(thread), id_from_string(request), BeginPolicy::queue);
    ASSERT_EQ(b.status, LogStatus::ok);
    ASSERT_EQ(log.append(b.exchange, Role::user, text.data(), text.size()), LogStatus::ok);
    ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
  }
  static std::vector<std::string> history(TurnLog& log, const std::string& thread) {
    std::vector<TurnView> views(512);
    Snapshot snap;
    EXPECT_EQ(log.snapshot(id_from_string(thread), views.data(), views.size(), &snap), LogStatus::ok);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < snap.size(); i++) {
      out.emplace_back(reinterpret_cast<const char*>(views[i].payload), views[i].payload_bytes);
    }
    return out;
  }
  // Overwrites `length` bytes at `offset` of file `p`.
  static void patch(const std::string& p, off_t offset, const void* bytes, std::size_t length) {
    const int fd = ::open(p.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes, length, offset), static_cast<ssize_t>(length));
    ::close(fd);
  }
  std::string dir;
  std::string shm_name;
};

// ---- files: create, modes, reopen ------------------------------------------------

TEST_F(MappingTest, creates_files_owner_only_whatever_the_umask) {
  UmaskScope mask(0);  // a umask of 0 would give the group and others access if the mode were not exact
  MapResult m = create_file_mapping(path("log").c_str(), 4096);
  ASSERT_EQ(m.status, MapStatus::ok);
  struct stat st {};
  ASSERT_EQ(::stat(path("log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 4096);
  EXPECT_TRUE(m.mapping.shared());
}

TEST_F(MappingTest, applies_the_mode_the_caller_asks_for_exactly) {
  UmaskScope mask(077);  // would strip 0640 to 0600 if the umask applied
  MapOptions options;
  options.mode = 0640;
  MapResult m = create_file_mapping(path("log").c_str(), 4096, options);
  ASSERT_EQ(m.status, MapStatus::ok);
  struct stat st {};
  ASSERT_EQ(::stat(path("log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(MappingTest, exclusive_create_refuses_an_existing_file_and_leaves_it_alone) {
  make_log_file(path("log"), 2);
  MapResult again = create_file_mapping(path("log").c_str(), 4096);
  EXPECT_EQ(again.status, MapStatus::exists);
  EXPECT_EQ(again.system_error, EEXIST);
  EXPECT_FALSE(again.mapping.mapped());
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(history(log, "t"), (std::vector<std::string>{"q0", "q1"}));
}

TEST_F(MappingTest, non_exclusive_create_replaces_the_contents_with_zeros) {
  make_log_file(path("log"), 2);
  MapOptions options;
  options.exclusive = false;
  MapResult m = create_file_mapping(path("log").c_str(), 8192, options);
  ASSERT_EQ(m.status, MapStatus::ok);
  ASSERT_EQ(m.mapping.size(), 8192u);
  const auto* bytes = static_cast<const unsigned char*>(m.mapping.data());
  for (std::size_t i = 0; i < m.mapping.size(); i++) ASSERT_EQ(bytes[i], 0) << i;
}

TEST_F(MappingTest, rejects_bad_create_arguments) {
  EXPECT_EQ(create_file_mapping(nullptr, 4096).status, MapStatus::invalid_argument);
  EXPECT_EQ(create_file_mapping("", 4096).status, MapStatus::invalid_argument);
  EXPECT_EQ(create_file_mapping(path("a").c_str(), 0).status, MapStatus::invalid_argument);
  EXPECT_EQ(create_file_mapping(path("a").c_str(), 100).status, MapStatus::invalid_argument);  // not 64-aligned
  MapOptions bad_mode;
  bad_mode.mode = 04600;  // setuid is no permission bit a region needs
  EXPECT_EQ(create_file_mapping(path("a").c_str(), 4096, bad_mode).status, MapStatus::invalid_argument);
  MapOptions small_max;
  small_max.max_bytes = 4096;
  EXPECT_EQ(create_file_mapping(path("a").c_str(), 8192, small_max).status, MapStatus::too_large);
  EXPECT_EQ(create_file_mapping((dir + "/no/such/dir/f").c_str(), 4096).status, MapStatus::not_found);
  EXPECT_FALSE(fs::exists(path("a")));
}

TEST_F(MappingTest, a_log_survives_unmapping_and_reopening) {
  make_log_file(path("log"), 3);
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(history(log, "t"), (std::vector<std::string>{"q0", "q1", "q2"}));
  append_exchange(log, "t", "r3", "q3");  // and it takes more appends
  EXPECT_EQ(history(log, "t").size(), 4u);
}

TEST_F(MappingTest, two_mappings_of_one_file_see_each_others_appends) {
  MapResult a = create_file_mapping(path("log").c_str(), TurnLog::region_bytes(small_config()));
  ASSERT_EQ(a.status, MapStatus::ok);
  TurnLog writer;
  ASSERT_EQ(format_log(a.mapping, small_config(), steady_clock(), &writer), MapStatus::ok);
  MapResult b = open_file_mapping(path("log").c_str());
  ASSERT_EQ(b.status, MapStatus::ok);
  ASSERT_NE(a.mapping.data(), b.mapping.data());  // two addresses, one file: offsets only
  TurnLog reader;
  ASSERT_EQ(attach_log(b.mapping, steady_clock(), &reader), MapStatus::ok);
  append_exchange(writer, "t", "r1", "from a");
  EXPECT_EQ(history(reader, "t"), (std::vector<std::string>{"from a"}));
  append_exchange(reader, "t", "r2", "from b");
  EXPECT_EQ(history(writer, "t"), (std::vector<std::string>{"from a", "from b"}));
  // The dedup window is shared too [T2].
  EXPECT_EQ(writer.begin_exchange(id_from_string("t"), id_from_string("r2"), BeginPolicy::queue).status,
            LogStatus::duplicate);
}

TEST_F(MappingTest, a_copy_on_write_view_never_changes_the_file) {
  make_log_file(path("log"), 1);
  MapOptions cow;
  cow.copy_on_write = true;
  MapResult view = open_file_mapping(path("log").c_str(), cow);
  ASSERT_EQ(view.status, MapStatus::ok);
  EXPECT_FALSE(view.mapping.shared());
  TurnLog private_log;
  ASSERT_EQ(attach_log(view.mapping, steady_clock(), &private_log), MapStatus::ok);
  append_exchange(private_log, "t", "private", "not in the file");
  EXPECT_EQ(history(private_log, "t").size(), 2u);
  EXPECT_EQ(view.mapping.sync(), MapStatus::ok);  // nothing to write back
  MapResult shared = open_file_mapping(path("log").c_str());
  ASSERT_EQ(shared.status, MapStatus::ok);
  TurnLog log;
  ASSERT_EQ(attach_log(shared.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(history(log, "t"), (std::vector<std::string>{"q0"}));
}

TEST_F(MappingTest, sync_writes_back_ranges_inside_the_mapping_only) {
  MapResult m = create_file_mapping(path("log").c_str(), 3 * 4096);
  ASSERT_EQ(m.status, MapStatus::ok);
  static_cast<unsigned char*>(m.mapping.data())[5000] = 7;
  EXPECT_EQ(m.mapping.sync(), MapStatus::ok);
  EXPECT_EQ(m.mapping.sync(4999, 10), MapStatus::ok);  // unaligned start: rounded to its page
  EXPECT_EQ(m.mapping.sync(0, 0), MapStatus::ok);
  EXPECT_EQ(m.mapping.sync(3 * 4096, 1), MapStatus::invalid_argument);
  EXPECT_EQ(m.mapping.sync(1, SIZE_MAX), MapStatus::invalid_argument);  // no overflow past the end
  Mapping moved = std::move(m.mapping);
  EXPECT_EQ(m.mapping.sync(), MapStatus::not_mapped);  // NOLINT(bugprone-use-after-move): moved-from maps nothing
  EXPECT_TRUE(moved.mapped());
  moved.unmap();
  moved.unmap();  // idempotent
  EXPECT_EQ(moved.sync(), MapStatus::not_mapped);
}

TEST_F(MappingTest, sync_log_returns_a_durable_position_past_every_committed_turn_and_before_later_ones) {
  MapResult m = create_file_mapping(path("log").c_str(), TurnLog::region_bytes(small_config()));
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(sync_log(m.mapping, log).status, MapStatus::invalid_argument);  // no log attached
  ASSERT_EQ(format_log(m.mapping, small_config(), steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(log.end_position(), 0u);
  for (int i = 0; i < 5; i++) append_exchange(log, "t", "r" + std::to_string(i), "q" + std::to_string(i));
  const SyncResult synced = sync_log(m.mapping, log);
  ASSERT_EQ(synced.status, MapStatus::ok);
  EXPECT_EQ(synced.durable_position, log.end_position());
  std::vector<TurnView> views(16);
  Snapshot snap;
  ASSERT_EQ(log.snapshot(id_from_string("t"), views.data(), views.size(), &snap), LogStatus::ok);
  ASSERT_EQ(snap.size(), 5u);
  for (std::size_t i = 0; i < snap.size(); i++) EXPECT_LT(views[i].position, synced.durable_position);
  snap.release();
  append_exchange(log, "t", "r5", "after the sync");
  ASSERT_EQ(log.snapshot(id_from_string("t"), views.data(), views.size(), &snap), LogStatus::ok);
  ASSERT_EQ(snap.size(), 6u);
  EXPECT_GE(views[5].position, synced.durable_position) << "a later turn is not covered by the watermark";
  EXPECT_GT(log.end_position(), synced.durable_position);
  snap.release();
  // Across many segments the watermark keeps growing.
  for (int i = 6; i < 40; i++) append_exchange(log, "u", "r" + std::to_string(i), std::string(200, 'x'));
  const SyncResult later = sync_log(m.mapping, log);
  ASSERT_EQ(later.status, MapStatus::ok);
  EXPECT_GT(later.durable_position, synced.durable_position);
  // A private view cannot make anything durable.
  MapOptions cow;
  cow.copy_on_write = true;
  MapResult view = open_file_mapping(path("log").c_str(), cow);
  ASSERT_EQ(view.status, MapStatus::ok);
  TurnLog private_log;
  ASSERT_EQ(attach_log(view.mapping, steady_clock(), &private_log), MapStatus::ok);
  const SyncResult none = sync_log(view.mapping, private_log);
  EXPECT_EQ(none.status, MapStatus::invalid_argument);
  EXPECT_EQ(none.durable_position, 0u);
  // A log that does not live in the mapping it is given.
  MapResult other = create_file_mapping(path("other").c_str(), TurnLog::region_bytes(small_config()));
  ASSERT_EQ(other.status, MapStatus::ok);
  EXPECT_EQ(sync_log(other.mapping, log).status, MapStatus::invalid_argument);
}

// ---- opening: sizes bounded before anything is mapped ----------------------------

TEST_F(MappingTest, open_reports_a_missing_file_a_directory_and_a_bad_path) {
  EXPECT_EQ(open_file_mapping(path("missing").c_str()).status, MapStatus::not_found);
  EXPECT_EQ(open_file_mapping(dir.c_str()).status, MapStatus::not_a_file);
  EXPECT_EQ(open_file_mapping(nullptr).status, MapStatus::invalid_argument);
}

TEST_F(MappingTest, open_refuses_a_file_smaller_than_any_header) {
  write_file(path("tiny"), std::vector<unsigned char>(10, 0x57));
  EXPECT_EQ(open_file_mapping(path("tiny").c_str()).status, MapStatus::too_small);
  write_file(path("empty"), {});
  EXPECT_EQ(open_file_mapping(path("empty").c_str()).status, MapStatus::too_small);
}

TEST_F(MappingTest, open_refuses_sizes_that_are_no_region) {
  write_file(path("odd"), std::vector<unsigned char>(4096 + 8, 0));
  EXPECT_EQ(open_file_mapping(path("odd").c_str()).status, MapStatus::implausible_size);
  write_file(path("big"), std::vector<unsigned char>(8192, 0));
  MapOptions small_max;
  small_max.max_bytes = 4096;
  EXPECT_EQ(open_file_mapping(path("big").c_str(), small_max).status, MapStatus::too_large);
}

TEST_F(MappingTest, open_reports_permission_denied) {
  make_log_file(path("log"), 1);
  ASSERT_EQ(::chmod(path("log").c_str(), 0), 0);
  if (::geteuid() != 0) {
    EXPECT_EQ(open_file_mapping(path("log").c_str()).status, MapStatus::permission_denied);
    return;
  }
  // Root reads any file: try as an unprivileged user (nobody) in a child.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    ::_exit(open_file_mapping(path("log").c_str()).status == MapStatus::permission_denied ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: could not become nobody; 1: another status than permission_denied";
}

// ---- attaching: magic, kind, version, geometry, size ---------------------------------

TEST_F(MappingTest, attach_refuses_a_file_without_magic) {
  write_file(path("zeros"), std::vector<unsigned char>(TurnLog::region_bytes(small_config()), 0));
  MapResult m = open_file_mapping(path("zeros").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::not_a_region);
  LockTable table;
  EXPECT_EQ(attach_table(m.mapping, steady_clock(), &table), MapStatus::not_a_region);
}

TEST_F(MappingTest, attach_refuses_a_flipped_magic_bit) {
  make_log_file(path("log"), 1);
  const unsigned char flipped = 'W' ^ 0x01;
  patch(path("log"), 0, &flipped, 1);
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::not_a_region);
}

TEST_F(MappingTest, attach_refuses_a_wrong_version) {
  make_log_file(path("log"), 1);
  const std::uint64_t version = TurnLog::format_version + 1;
  patch(path("log"), 8, &version, sizeof version);
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  const RegionInfo info = inspect_region(m.mapping.data(), m.mapping.size());
  EXPECT_TRUE(info.is_turn_log);
  EXPECT_EQ(info.version, TurnLog::format_version + 1);
  TurnLog log;
  EXPECT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::bad_version);
}

TEST_F(MappingTest, attach_says_when_a_region_has_the_other_word_size) {
  make_log_file(path("log"), 1);
  const std::uint64_t other = weft::word_bits == 64 ? 32 : 64;
  patch(path("log"), 16, &other, 8);  // the TurnLog's word_bits field
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::word_size_mismatch);

  MapResult t = create_file_mapping(path("table").c_str(), LockTable::region_bytes(16));
  ASSERT_EQ(t.status, MapStatus::ok);
  LockTable table;
  LockTable::Config config;
  config.capacity = 16;
  ASSERT_EQ(format_table(t.mapping, config, steady_clock(), &table), MapStatus::ok);
  const std::uint32_t other32 = static_cast<std::uint32_t>(other);
  std::memcpy(static_cast<unsigned char*>(t.mapping.data()) + 12, &other32, 4);  // the LockTable's word_bits
  LockTable again;
  EXPECT_EQ(attach_table(t.mapping, steady_clock(), &again), MapStatus::word_size_mismatch);
}

TEST_F(MappingTest, attach_refuses_the_other_kind_of_region) {
  MapResult t = create_file_mapping(path("table").c_str(), LockTable::region_bytes(64));
  ASSERT_EQ(t.status, MapStatus::ok);
  LockTable table;
  LockTable::Config config;
  config.capacity = 64;
  ASSERT_EQ(format_table(t.mapping, config, steady_clock(), &table), MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(attach_log(t.mapping, steady_clock(), &log), MapStatus::wrong_kind);
  make_log_file(path("log"), 1);
  MapResult l = open_file_mapping(path("log").c_str());
  ASSERT_EQ(l.status, MapStatus::ok);
  LockTable other;
  EXPECT_EQ(attach_table(l.mapping, steady_clock(), &other), MapStatus::wrong_kind);
}

TEST_F(MappingTest, attach_refuses_a_truncated_file) {
  make_log_file(path("log"), 1);
  const auto full = fs::file_size(path("log"));
  fs::resize_file(path("log"), full / 2 / 64 * 64);
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::truncated);
  // Cut inside the header: the magic is there, the rest is not.
  fs::resize_file(path("log"), 128);
  MapResult cut = open_file_mapping(path("log").c_str());
  ASSERT_EQ(cut.status, MapStatus::ok);
  EXPECT_EQ(attach_log(cut.mapping, steady_clock(), &log), MapStatus::truncated);
}

TEST_F(MappingTest, recovery_drops_only_the_record_whose_checksum_fails) {
  make_log_file(path("log"), 3);  // three exchanges of one turn each
  {
    MapResult m = open_file_mapping(path("log").c_str());
    ASSERT_EQ(m.status, MapStatus::ok);
    TurnLog log;
    ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
    TurnView views[8];
    Snapshot snap;
    ASSERT_EQ(log.snapshot(id_from_string("t"), views, 8, &snap), LogStatus::ok);
    ASSERT_EQ(snap.size(), 3u);
    const_cast<unsigned char*>(views[1].payload)[0] ^= 0x20;  // "q1" -> "Q1": a flipped bit on disk
  }
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.dropped_checksum, 1u);
  EXPECT_EQ(report.records_kept, 2u);
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(history(log, "t"), (std::vector<std::string>{"q0", "q2"}));
  EXPECT_EQ(report.dropped_with_exchange, 0u);
}

// [T4] after recovery an exchange is whole or gone: a flipped bit in one
// turn of a two-turn exchange drops its other turn too.
TEST_F(MappingTest, recovery_drops_the_whole_exchange_of_a_damaged_turn) {
  {
    MapResult m = create_file_mapping(path("log").c_str(), TurnLog::region_bytes(small_config()));
    ASSERT_EQ(m.status, MapStatus::ok);
    TurnLog log;
    ASSERT_EQ(format_log(m.mapping, small_config(), steady_clock(), &log), MapStatus::ok);
    for (int i = 0; i < 3; i++) {
      const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r" + std::to_string(i)),
                                               BeginPolicy::queue);
      ASSERT_EQ(b.status, LogStatus::ok);
      const std::string q = "q" + std::to_string(i), a = "a" + std::to_string(i);
      ASSERT_EQ(log.append(b.exchange, Role::user, q.data(), q.size()), LogStatus::ok);
      ASSERT_EQ(log.append(b.exchange, Role::assistant, a.data(), a.size()), LogStatus::ok);
      ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
    }
    TurnView views[8];
    Snapshot snap;
    ASSERT_EQ(log.snapshot(id_from_string("t"), views, 8, &snap), LogStatus::ok);
    ASSERT_EQ(snap.size(), 6u);
    const_cast<unsigned char*>(views[3].payload)[0] ^= 0x20;  // "a1" -> "A1"
  }
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.dropped_checksum, 1u);
  EXPECT_EQ(report.dropped_with_exchange, 1u);
  EXPECT_EQ(report.records_kept, 4u);
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(history(log, "t"), (std::vector<std::string>{"q0", "a0", "q2", "a2"}));
}

// More damaged exchanges than one recovery pass gathers (64): every one goes
// whole, none leaves half an exchange behind.
TEST_F(MappingTest, recovery_drops_every_damaged_exchange_whole_beyond_one_pass) {
  TurnLog::Config c = small_config();
  c.segment_bytes = 64 * 1024;
  c.segment_count = 4;
  const int exchanges = 150;
  {
    MapResult m = create_file_mapping(path("log").c_str(), TurnLog::region_bytes(c));
    ASSERT_EQ(m.status, MapStatus::ok);
    TurnLog log;
    ASSERT_EQ(format_log(m.mapping, c, steady_clock(), &log), MapStatus::ok);
    for (int i = 0; i < exchanges; i++) {
      const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r" + std::to_string(i)),
                                               BeginPolicy::queue);
      ASSERT_EQ(b.status, LogStatus::ok);
      ASSERT_EQ(log.append(b.exchange, Role::user, "qq", 2), LogStatus::ok);
      ASSERT_EQ(log.append(b.exchange, Role::assistant, "aa", 2), LogStatus::ok);
      ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
    }
    std::vector<TurnView> views(2 * exchanges);
    Snapshot snap;
    ASSERT_EQ(log.snapshot(id_from_string("t"), views.data(), views.size(), &snap), LogStatus::ok);
    ASSERT_EQ(snap.size(), 2u * exchanges);
    for (int i = 0; i < exchanges; i += 2) const_cast<unsigned char*>(views[2 * i + 1].payload)[0] ^= 1;  // every other answer
  }
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.dropped_checksum, static_cast<std::uint64_t>(exchanges / 2));
  EXPECT_EQ(report.dropped_with_exchange, static_cast<std::uint64_t>(exchanges / 2));
  EXPECT_EQ(report.records_kept, static_cast<std::uint64_t>(exchanges));
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  const std::vector<std::string> h = history(log, "t");
  EXPECT_EQ(h.size(), static_cast<std::size_t>(exchanges));
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    EXPECT_EQ(h[i], "qq");
    EXPECT_EQ(h[i + 1], "aa") << "half an exchange at " << i;
  }
}

// ---- recovery rebuilds what damage made disagree with the records --------------
//
// The tests find the words to damage the way a reader of the format would:
// a thread slot is a state word, the thread's id (16 bytes), next_ticket and
// visible_through, each a state word (8 bytes, or 4 with 32-bit words); it
// is the first 64-byte line holding the id there (thread slots come before
// every record). The segments are the last segment_count x segment_bytes
// bytes; a fill is the word after a segment's state word.

constexpr std::size_t word_bytes = WEFT_WORD_BITS / 8;
constexpr std::size_t next_ticket_at = word_bytes + 16;
constexpr std::size_t visible_through_at = next_ticket_at + word_bytes;

std::size_t thread_slot_offset(const MapResult& m, const Id& thread) {
  const auto* bytes = static_cast<const unsigned char*>(m.mapping.data());
  for (std::size_t at = 0; at + 64 <= m.mapping.size(); at += 64) {
    if (std::memcmp(bytes + at + word_bytes, &thread.hi, 8) == 0 &&
        std::memcmp(bytes + at + word_bytes + 8, &thread.lo, 8) == 0) {
      return at;
    }
  }
  return 0;
}

void store_word(const MapResult& m, std::size_t offset, std::uint64_t value) {
  std::memcpy(static_cast<unsigned char*>(m.mapping.data()) + offset, &value, word_bytes);  // little-endian hosts
}

// Five exchanges of a question and an answer on thread "t" ("q0".."a4").
void make_two_turn_log(const std::string& p) {
  MapResult m = create_file_mapping(p.c_str(), TurnLog::region_bytes(small_config()));
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  ASSERT_EQ(format_log(m.mapping, small_config(), steady_clock(), &log), MapStatus::ok);
  for (int i = 0; i < 5; i++) {
    const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r" + std::to_string(i)),
                                             BeginPolicy::queue);
    ASSERT_EQ(b.status, LogStatus::ok);
    const std::string q = "q" + std::to_string(i), a = "a" + std::to_string(i);
    ASSERT_EQ(log.append(b.exchange, Role::user, q.data(), q.size()), LogStatus::ok);
    ASSERT_EQ(log.append(b.exchange, Role::assistant, a.data(), a.size()), LogStatus::ok);
    ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
  }
}

// make_two_turn_log(), mapped again, and the offset of thread "t"'s slot.
void open_two_turn_log(const std::string& p, MapResult& m, std::size_t& slot) {
  ASSERT_NO_FATAL_FAILURE(make_two_turn_log(p));
  m = open_file_mapping(p.c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  slot = thread_slot_offset(m, id_from_string("t"));
  ASSERT_NE(slot, 0u);
}

const std::vector<std::string> five_exchanges = {"q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3", "q4", "a4"};

// After a rebuild the thread goes on as if nothing happened: the next
// begin takes ticket 6, a retried request is still a duplicate, nothing
// committed is gone and a new exchange lands after the old ones.
void expect_thread_goes_on(MapResult& m) {
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(MappingTest::history(log, "t"), five_exchanges);
  const BeginResult again = log.begin_exchange(id_from_string("t"), id_from_string("r4"), BeginPolicy::queue);
  EXPECT_EQ(again.status, LogStatus::duplicate);
  EXPECT_EQ(again.exchange.ticket, 5u);
  const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r5"), BeginPolicy::queue);
  ASSERT_EQ(b.status, LogStatus::ok);
  EXPECT_EQ(b.exchange.ticket, 6u);
  ASSERT_EQ(log.append(b.exchange, Role::user, "q5", 2), LogStatus::ok);
  ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
  std::vector<std::string> expected = five_exchanges;
  expected.push_back("q5");
  EXPECT_EQ(MappingTest::history(log, "t"), expected);
}

TEST_F(MappingTest, recovery_rebuilds_a_thread_whose_next_ticket_was_damaged_low) {
  MapResult m;
  std::size_t slot = 0;
  ASSERT_NO_FATAL_FAILURE(open_two_turn_log(path("log"), m, slot));
  store_word(m, slot + next_ticket_at, 2);  // next_ticket 6 -> 2: the next begins would reuse tickets 2..5
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.threads_rebuilt, 1u);
  EXPECT_EQ(report.records_kept, 10u);
  EXPECT_EQ(report.dropped_rebuilt, 0u);
  expect_thread_goes_on(m);
}

TEST_F(MappingTest, recovery_inserts_again_a_thread_whose_slot_was_wiped) {
  MapResult m;
  std::size_t slot = 0;
  ASSERT_NO_FATAL_FAILURE(open_two_turn_log(path("log"), m, slot));
  std::memset(static_cast<unsigned char*>(m.mapping.data()) + slot, 0, 64);  // a zeroed line: the thread is gone
  {
    TurnLog log;
    ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
    EXPECT_TRUE(history(log, "t").empty());  // before: the thread is unknown, its turns hidden
  }
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.threads_rebuilt, 1u);
  expect_thread_goes_on(m);
}

TEST_F(MappingTest, recovery_rebuilds_a_tail_that_cannot_advance) {
  MapResult m;
  std::size_t slot = 0;
  ASSERT_NO_FATAL_FAILURE(open_two_turn_log(path("log"), m, slot));
  store_word(m, slot + visible_through_at, 9);  // visible_through 5 -> 9, beyond next_ticket
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.threads_rebuilt, 1u);
  expect_thread_goes_on(m);
}

TEST_F(MappingTest, recovery_raises_a_fill_damaged_below_its_records) {
  make_two_turn_log(path("log"));
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  LogLayout layout;
  ASSERT_EQ(inspect_log(m.mapping.data(), m.mapping.size(), &layout), LogStatus::ok);
  const std::size_t segments_at = layout.segments_offset;
  std::size_t current = layout.config.segment_count;
  for (std::uint32_t i = 0; i < layout.config.segment_count; i++) {
    SegmentReport seg;
    ASSERT_EQ(inspect_segment(m.mapping.data(), m.mapping.size(), i, &seg), LogStatus::ok);
    if (seg.sequence == layout.current) current = i;
  }
  ASSERT_LT(current, layout.config.segment_count);
  store_word(m, segments_at + current * layout.config.segment_bytes + word_bytes, 0);  // fill: nothing reserved
  {
    TurnLog log;
    ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
    EXPECT_TRUE(history(log, "t").empty());  // before: the records are hidden, their bytes up for grabs
  }
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.tails_rebuilt, 1u);
  EXPECT_EQ(report.records_kept, 10u);
  EXPECT_EQ(report.threads_rebuilt, 0u);
  expect_thread_goes_on(m);
}

// An exchange left open when the thread slot was damaged cannot finish any
// more (its exchange slot is rebuilt): its published turn is aborted and
// counted, the committed ones stay.
TEST_F(MappingTest, recovery_aborts_the_open_exchange_of_a_rebuilt_thread) {
  MapResult m;
  std::size_t slot = 0;
  ASSERT_NO_FATAL_FAILURE(open_two_turn_log(path("log"), m, slot));
  {
    TurnLog log;
    ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
    const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r5"), BeginPolicy::queue);
    ASSERT_EQ(b.status, LogStatus::ok);
    ASSERT_EQ(log.append(b.exchange, Role::user, "open", 4), LogStatus::ok);  // never committed
  }
  store_word(m, slot + next_ticket_at, 1);  // next_ticket 7 -> 1
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.threads_rebuilt, 1u);
  EXPECT_EQ(report.dropped_rebuilt, 1u);
  EXPECT_EQ(report.written_unfinished, 0u);
  EXPECT_EQ(report.records_kept, 10u);
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_EQ(history(log, "t"), five_exchanges);
  const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r6"), BeginPolicy::queue);
  ASSERT_EQ(b.status, LogStatus::ok);
  EXPECT_EQ(b.exchange.ticket, 7u);  // above the aborted exchange's ticket 6
}

// A zeroed segment (header and records): recovery counts it missing and
// keeps every record of the other segments; the log goes on.
TEST_F(MappingTest, recovery_counts_a_zeroed_segment_and_keeps_the_others) {
  {
    MapResult m = create_file_mapping(path("log").c_str(), TurnLog::region_bytes(small_config()));
    ASSERT_EQ(m.status, MapStatus::ok);
    TurnLog log;
    ASSERT_EQ(format_log(m.mapping, small_config(), steady_clock(), &log), MapStatus::ok);
    for (int i = 0; i < 20; i++) {  // 40 records: three of the four 15-record segments
      const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r" + std::to_string(i)),
                                               BeginPolicy::queue);
      ASSERT_EQ(b.status, LogStatus::ok);
      ASSERT_EQ(log.append(b.exchange, Role::user, "q", 1), LogStatus::ok);
      ASSERT_EQ(log.append(b.exchange, Role::assistant, "a", 1), LogStatus::ok);
      ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
    }
  }
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  LogLayout layout;
  ASSERT_EQ(inspect_log(m.mapping.data(), m.mapping.size(), &layout), LogStatus::ok);
  ASSERT_GE(layout.current, 3u);
  const std::size_t segments_at = layout.segments_offset;
  std::uint64_t total = 0, zeroed = 0;
  std::uint32_t victim = layout.config.segment_count;
  for (std::uint32_t i = 0; i < layout.config.segment_count; i++) {
    SegmentReport seg;
    ASSERT_EQ(inspect_segment(m.mapping.data(), m.mapping.size(), i, &seg), LogStatus::ok);
    total += seg.committed;
    if (seg.sequence == 2) {
      victim = i;
      zeroed = seg.committed;
    }
  }
  ASSERT_LT(victim, layout.config.segment_count);
  ASSERT_GT(zeroed, 0u);
  std::memset(static_cast<unsigned char*>(m.mapping.data()) + segments_at + victim * layout.config.segment_bytes, 0,
              layout.config.segment_bytes);
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.segments_missing, 1u);
  EXPECT_EQ(report.records_kept, total - zeroed);
  EXPECT_EQ(report.dropped_checksum + report.dropped_malformed, 0u);
  TurnLog log;
  ASSERT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::ok);
  EXPECT_LE(history(log, "t").size(), total - zeroed);
  const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r20"), BeginPolicy::queue);
  ASSERT_EQ(b.status, LogStatus::ok);
  EXPECT_EQ(b.exchange.ticket, 21u);
  ASSERT_EQ(log.append(b.exchange, Role::user, "new", 3), LogStatus::ok);
  ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
  EXPECT_EQ(history(log, "t").back(), "new");
}

TEST_F(MappingTest, recovery_of_an_undamaged_log_rebuilds_nothing) {
  make_two_turn_log(path("log"));
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  RecoveryReport report;
  ASSERT_EQ(recover_log(m.mapping.data(), m.mapping.size(), &report), LogStatus::ok);
  EXPECT_EQ(report.tails_rebuilt + report.threads_rebuilt + report.dropped_rebuilt, 0u);
  expect_thread_goes_on(m);
}

// ---- recovery on open (open_log) ---------------------------------------------------

TEST_F(MappingTest, open_log_recovers_a_log_nobody_has_open) {
  make_two_turn_log(path("log"));
  {
    MapResult m = open_file_mapping(path("log").c_str());
    ASSERT_EQ(m.status, MapStatus::ok);
    const std::size_t slot = thread_slot_offset(m, id_from_string("t"));
    ASSERT_NE(slot, 0u);
    store_word(m, slot + next_ticket_at, 2);  // damage: recovery must rebuild it
  }
  TurnLog log;
  OpenLogResult opened = open_log(path("log").c_str(), steady_clock(), &log);
  ASSERT_EQ(opened.status, MapStatus::ok);
  EXPECT_TRUE(opened.recovered);
  EXPECT_EQ(opened.report.threads_rebuilt, 1u);
  EXPECT_EQ(opened.report.records_kept, 10u);
  EXPECT_EQ(history(log, "t"), five_exchanges);
  const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r5"), BeginPolicy::queue);
  ASSERT_EQ(b.status, LogStatus::ok);
  EXPECT_EQ(b.exchange.ticket, 6u);
}

// A second opener while the first holds the log attaches as it finds it: no
// recovery under a live user. Once both are gone the next opener recovers.
TEST_F(MappingTest, open_log_does_not_recover_under_another_opener) {
  make_two_turn_log(path("log"));
  std::vector<std::string> expected = five_exchanges;
  expected.push_back("stream");
  {
    TurnLog first;
    OpenLogResult a = open_log(path("log").c_str(), steady_clock(), &first);
    ASSERT_EQ(a.status, MapStatus::ok);
    EXPECT_TRUE(a.recovered);
    const BeginResult open = first.begin_exchange(id_from_string("t"), id_from_string("r5"), BeginPolicy::queue);
    ASSERT_EQ(open.status, LogStatus::ok);
    TurnWriter streaming;  // a turn being written: a recovery now would abort it
    ASSERT_EQ(first.begin_turn(open.exchange, Role::user, 8, &streaming), LogStatus::ok);
    ASSERT_EQ(streaming.write("strea", 5), LogStatus::ok);
    {
      TurnLog second;
      OpenLogResult b = open_log(path("log").c_str(), steady_clock(), &second);
      ASSERT_EQ(b.status, MapStatus::ok);
      EXPECT_FALSE(b.recovered);
      EXPECT_EQ(history(second, "t"), five_exchanges);
    }
    ASSERT_EQ(streaming.write("m", 1), LogStatus::ok);
    ASSERT_EQ(streaming.finish(), LogStatus::ok);  // the second opener did not abort it
    ASSERT_EQ(first.commit(open.exchange), LogStatus::ok);
    EXPECT_EQ(history(first, "t"), expected);
  }  // the last user is gone
  TurnLog third;
  OpenLogResult c = open_log(path("log").c_str(), steady_clock(), &third);
  ASSERT_EQ(c.status, MapStatus::ok);
  EXPECT_TRUE(c.recovered);
  EXPECT_EQ(c.report.records_kept, 11u);
  EXPECT_EQ(history(third, "t"), expected);
}

// `weft recover` (recover_log_file) refuses a log an open_log() user holds
// and leaves it alone; once nobody holds it, it recovers.
TEST_F(MappingTest, recover_log_file_refuses_a_log_in_use_and_recovers_it_after) {
  make_two_turn_log(path("log"));
  {
    TurnLog log;
    OpenLogResult held = open_log(path("log").c_str(), steady_clock(), &log);
    ASSERT_EQ(held.status, MapStatus::ok);
    const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r5"), BeginPolicy::queue);
    ASSERT_EQ(b.status, LogStatus::ok);
    TurnWriter streaming;
    ASSERT_EQ(log.begin_turn(b.exchange, Role::user, 8, &streaming), LogStatus::ok);
    const RecoverFileResult refused = recover_log_file(path("log").c_str());
    EXPECT_EQ(refused.status, MapStatus::in_use);
    ASSERT_EQ(streaming.write("s", 1), LogStatus::ok);
    EXPECT_EQ(streaming.finish(), LogStatus::ok);  // not aborted under it
    ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
  }
  const RecoverFileResult done = recover_log_file(path("log").c_str());
  ASSERT_EQ(done.status, MapStatus::ok);
  EXPECT_EQ(done.report.records_kept, 11u);
  EXPECT_EQ(recover_log_file(path("none").c_str()).status, MapStatus::not_found);
  EXPECT_EQ(recover_log_file(nullptr).status, MapStatus::invalid_argument);
}

TEST_F(MappingTest, open_log_reports_what_it_cannot_open) {
  TurnLog log;
  EXPECT_EQ(open_log(path("none").c_str(), steady_clock(), &log).status, MapStatus::not_found);
  EXPECT_EQ(open_log(nullptr, steady_clock(), &log).status, MapStatus::invalid_argument);
  EXPECT_EQ(open_log(path("none").c_str(), steady_clock(), nullptr).status, MapStatus::invalid_argument);
  MapOptions cow;
  cow.copy_on_write = true;
  make_log_file(path("log"), 1);
  EXPECT_EQ(open_log(path("log").c_str(), steady_clock(), &log, cow).status, MapStatus::invalid_argument);
  {  // a LockTable file is not a TurnLog
    MapResult m = create_file_mapping(path("table").c_str(), LockTable::region_bytes(16));
    ASSERT_EQ(m.status, MapStatus::ok);
    LockTable table;
    LockTable::Config config;
    config.capacity = 16;
    ASSERT_EQ(format_table(m.mapping, config, steady_clock(), &table), MapStatus::ok);
  }
  OpenLogResult wrong = open_log(path("table").c_str(), steady_clock(), &log);
  EXPECT_EQ(wrong.status, MapStatus::wrong_kind);
  EXPECT_FALSE(wrong.mapping.mapped());
  EXPECT_FALSE(log.attached());
}

TEST_F(MappingTest, attach_refuses_inconsistent_geometry) {
  make_log_file(path("log"), 1);
  const std::uint64_t huge_segments = std::uint64_t{1} << 40;  // segment_count word
  patch(path("log"), 4 * 8, &huge_segments, sizeof huge_segments);
  MapResult m = open_file_mapping(path("log").c_str());
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(attach_log(m.mapping, steady_clock(), &log), MapStatus::bad_geometry);
}

TEST_F(MappingTest, attach_checks_any_region_not_only_mappings) {
  alignas(64) static unsigned char buffer[64 * 1024];
  std::memset(buffer, 0, sizeof buffer);
  TurnLog log;
  EXPECT_EQ(attach_log(buffer, sizeof buffer, steady_clock(), &log), MapStatus::not_a_region);
  EXPECT_EQ(attach_log(buffer, 32, steady_clock(), &log), MapStatus::too_small);
  EXPECT_EQ(attach_log(buffer + 8, 1024, steady_clock(), &log), MapStatus::too_small);  // misaligned
  ASSERT_EQ(log.init(buffer, sizeof buffer, small_config(), steady_clock()), LogStatus::ok);
  TurnLog again;
  EXPECT_EQ(attach_log(buffer, sizeof buffer, steady_clock(), &again), MapStatus::ok);
  EXPECT_EQ(attach_log(buffer, sizeof buffer, Clock{}, &again), MapStatus::invalid_argument);
}

TEST_F(MappingTest, format_refuses_bad_configs_and_small_mappings) {
  MapResult m = create_file_mapping(path("log").c_str(), 4096);
  ASSERT_EQ(m.status, MapStatus::ok);
  TurnLog log;
  EXPECT_EQ(format_log(m.mapping, small_config(), steady_clock(), &log), MapStatus::too_small);
  TurnLog::Config bad = small_config();
  bad.segment_count = 1;
  EXPECT_EQ(format_log(m.mapping, bad, steady_clock(), &log), MapStatus::bad_geometry);
  LockTable table;
  LockTable::Config big;
  big.capacity = 1024;
  EXPECT_EQ(format_table(m.mapping, big, steady_clock(), &table), MapStatus::too_small);
  LockTable::Config zero;
  zero.capacity = 0;
  EXPECT_EQ(format_table(m.mapping, zero, steady_clock(), &table), MapStatus::bad_geometry);
  Mapping none;
  EXPECT_EQ(format_log(none, small_config(), steady_clock(), &log), MapStatus::not_mapped);
  EXPECT_EQ(attach_log(none, steady_clock(), &log), MapStatus::not_mapped);
}

// ---- shared memory ------------------------------------------------------------------

TEST_F(MappingTest, shared_memory_is_owner_only_and_shared_between_mappings) {
  UmaskScope mask(0);
  LockTable::Config config;
  config.capacity = 64;
  MapResult a = create_shm_mapping(shm_name.c_str(), LockTable::region_bytes(config.capacity));
  ASSERT_EQ(a.status, MapStatus::ok) << a.system_error;
  struct stat st {};
  ASSERT_EQ(::stat(("/dev/shm" + shm_name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  LockTable first;
  ASSERT_EQ(format_table(a.mapping, config, steady_clock(), &first), MapStatus::ok);
  MapResult b = open_shm_mapping(shm_name.c_str());
  ASSERT_EQ(b.status, MapStatus::ok);
  LockTable second;
  ASSERT_EQ(attach_table(b.mapping, steady_clock(), &second), MapStatus::ok);
  const Id key = id_from_string("session");
  const AcquireResult held = first.try_acquire(key, 1, LockMode::exclusive, 60'000'000'000ULL);
  ASSERT_EQ(held.status, LockStatus::acquired);
  const AcquireResult other = second.try_acquire(key, 2, LockMode::exclusive, 60'000'000'000ULL);
  EXPECT_EQ(other.status, LockStatus::busy);  // L1 across the two mappings
  EXPECT_EQ(other.holder, 1u);
  EXPECT_EQ(second.release(key, held.token).status, LockStatus::released);
  EXPECT_EQ(create_shm_mapping(shm_name.c_str(), 4096).status, MapStatus::exists);
  EXPECT_EQ(unlink_shm(shm_name.c_str()), MapStatus::ok);
  EXPECT_EQ(open_shm_mapping(shm_name.c_str()).status, MapStatus::not_found);
  EXPECT_EQ(unlink_shm(shm_name.c_str()), MapStatus::not_found);
  // The mappings outlive the name.
  EXPECT_EQ(first.try_acquire(key, 3, LockMode::exclusive, 1'000'000'000ULL).status, LockStatus::acquired);
}

TEST_F(MappingTest, shared_memory_names_are_checked) {
  EXPECT_EQ(create_shm_mapping("no-slash", 4096).status, MapStatus::invalid_argument);
  EXPECT_EQ(create_shm_mapping("/a/b", 4096).status, MapStatus::invalid_argument);
  EXPECT_EQ(create_shm_mapping("/", 4096).status, MapStatus::invalid_argument);
  EXPECT_EQ(create_shm_mapping(nullptr, 4096).status, MapStatus::invalid_argument);
  EXPECT_EQ(open_shm_mapping("/weft-surely-missing-object").status, MapStatus::not_found);
  EXPECT_EQ(unlink_shm("x"), MapStatus::invalid_argument);
}

TEST_F(MappingTest, every_status_has_a_name) {
  for (int s = 0; s <= static_cast<int>(MapStatus::in_use); s++) {
    EXPECT_STRNE(to_string(static_cast<MapStatus>(s)), "unknown") << s;
  }
}

}  // namespace
}  // namespace weft::testing

// ---- posix_liveness -----------------------------------------------------------

namespace weft::testing {
namespace {

// Forks a child that sends its posix_liveness() identity through a pipe and
// then runs `rest`; returns the child's pid and identity.
template <class Rest>
std::pair<pid_t, std::uint64_t> child_with_identity(Rest rest) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, 0};
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::uint64_t identity = posix_liveness().identity;
    if (::write(fds[1], &identity, sizeof identity) != sizeof identity) std::_Exit(2);
    rest();
    std::_Exit(0);
  }
  std::uint64_t identity = 0;
  if (::read(fds[0], &identity, sizeof identity) != sizeof identity) identity = 0;
  ::close(fds[0]);
  ::close(fds[1]);
  return {pid, identity};
}

// A process that opened the log with open_log and was killed inside an
// append (a busy record, a writer pin) gives its lock back with its life:
// the next opener recovers what it left.
TEST(OpenLog, the_opener_after_a_killed_holder_recovers_what_it_left) {
  char dir_template[] = "/tmp/weft-openlog-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string file = std::string(dir_template) + "/log";
  {
    TurnLog::Config c;
    c.segment_bytes = 4096; c.segment_count = 4; c.thread_capacity = 16; c.exchanges_per_thread = 4;
    c.reader_slots = 4;
    MapResult m = create_file_mapping(file.c_str(), TurnLog::region_bytes(c));
    ASSERT_EQ(m.status, MapStatus::ok);
    TurnLog log;
    ASSERT_EQ(format_log(m.mapping, c, steady_clock(), &log), MapStatus::ok);
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    TurnLog log;
    OpenLogResult opened = open_log(file.c_str(), steady_clock(), &log);
    if (opened.status != MapStatus::ok) std::_Exit(2);
    const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r"), BeginPolicy::queue);
    TurnWriter w;
    if (b.status != LogStatus::ok || log.begin_turn(b.exchange, Role::user, 16, &w) != LogStatus::ok) std::_Exit(3);
    const char ready = 1;
    if (::write(fds[1], &ready, 1) != 1) std::_Exit(4);
    for (;;) ::pause();  // killed inside the append
  }
  ASSERT_GT(pid, 0);
  char ready = 0;
  ASSERT_EQ(::read(fds[0], &ready, 1), 1);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  TurnLog log;
  OpenLogResult opened = open_log(file.c_str(), steady_clock(), &log);
  ASSERT_EQ(opened.status, MapStatus::ok);
  EXPECT_TRUE(opened.recovered);
  EXPECT_EQ(opened.report.dropped_torn, 1u);  // the busy record of the killed append
  EXPECT_EQ(opened.report.writer_pins_cleared, 1u);
  const BeginResult b = log.begin_exchange(id_from_string("t"), id_from_string("r2"), BeginPolicy::queue);
  ASSERT_EQ(b.status, LogStatus::ok);
  ASSERT_EQ(log.append(b.exchange, Role::user, "after", 5), LogStatus::ok);
  ASSERT_EQ(log.commit(b.exchange), LogStatus::ok);
  std::filesystem::remove_all(dir_template);  // unlinked; the mapping stays valid until it goes
}

TEST(PosixLiveness, a_running_process_is_alive_and_a_killed_one_dead_once_reaped_or_as_a_zombie) {
  const TurnLog::Liveness self = posix_liveness();
  EXPECT_NE(self.identity, 0u);
  EXPECT_TRUE(self.alive(self.context, self.identity));
  const auto [pid, identity] = child_with_identity([] {
    for (;;) ::pause();
  });
  ASSERT_GT(pid, 0);
  ASSERT_NE(identity, 0u);
  EXPECT_TRUE(self.alive(self.context, identity));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // Killed, not yet reaped by this parent: a zombie, which is dead.
  bool dead = false;
  for (int i = 0; i < 1000 && !dead; i++) {
    dead = !self.alive(self.context, identity);
    if (!dead) ::usleep(1000);
  }
  EXPECT_TRUE(dead) << "a zombie was taken for alive";
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_FALSE(self.alive(self.context, identity));  // gone
}

TEST(PosixLiveness, a_process_whose_main_thread_exited_while_others_run_is_alive) {
  const TurnLog::Liveness self = posix_liveness();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const auto [pid, identity] = child_with_identity([&] {
    pthread_t worker;
    if (::pthread_create(
            &worker, nullptr,
            [](void* fd) -> void* {
              ::usleep(50'000);  // the main thread is gone by then
              const char c = 'R';
              if (::write(*static_cast<int*>(fd), &c, 1) != 1) std::_Exit(3);
              for (;;) ::pause();
            },
            &ready[1]) != 0) {
      std::_Exit(4);
    }
    // The main thread alone ends (SYS_exit, not exit_group; pthread_exit
    // would unwind through the test framework): the leader shows as a
    // zombie while the worker runs on.
    ::syscall(SYS_exit, 0);
  });
  ASSERT_GT(pid, 0);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_TRUE(self.alive(self.context, identity)) << "a process with a running thread was taken for dead";
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(PosixLiveness, a_reused_or_foreign_identity_is_judged_by_its_start_time) {
  const TurnLog::Liveness self = posix_liveness();
  // This process's pid with another start time: a newer process under a reused pid.
  const std::uint64_t other_start = self.identity ^ (std::uint64_t{1} << 40);
  if ((self.identity >> 32) != 0) {
    EXPECT_FALSE(self.alive(self.context, other_start));
  }
  EXPECT_TRUE(self.alive(self.context, 0));  // not a pid: cannot tell
}

}  // namespace
}  // namespace weft::testing
