// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/gzip_writer.h"

#include <libdeflate.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/cpus.h"
#include "base/fd.h"

namespace imager::formats {

struct GzipWriter::Shared {
  struct Job {
    std::vector<unsigned char> in, out;
    bool taken = false, done = false;
    bool failed = false;
  };

  int fd = -1;
  Options options;
  std::vector<unsigned char> piece;  // being filled by Write
  bool wrote_any = false;
  std::string error;  // the first write error, sticky

  std::mutex mu;
  std::condition_variable work;  // a job to take, or stopping
  std::condition_variable done;  // a job finished
  std::deque<Job> jobs;          // in input order; the front is written first
  bool stopping = false;
  std::vector<std::thread> workers;

  // The oldest job no worker has taken, or null. Holds `mu`.
  Job* Untaken() {
    for (auto& j : jobs)
      if (!j.taken) return &j;
    return nullptr;
  }

  void Work() {
    libdeflate_compressor* c = libdeflate_alloc_compressor(options.level);
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock lock(mu);
        work.wait(lock, [&] { return (job = Untaken()) || stopping; });
        if (!job) break;  // stopping, nothing left
        job->taken = true;
      }
      // std::deque keeps references to its elements valid while others are pushed or popped
      // at the ends; a job is popped only once done.
      bool ok = c != nullptr;
      if (ok) {
        job->out.resize(libdeflate_gzip_compress_bound(c, job->in.size()));
        size_t n = libdeflate_gzip_compress(c, job->in.data(), job->in.size(), job->out.data(),
                                            job->out.size());
        ok = n > 0;
        job->out.resize(n);
      }
      std::vector<unsigned char>().swap(job->in);
      {
        std::lock_guard lock(mu);
        job->done = true;
        job->failed = !ok;
      }
      done.notify_all();
    }
    libdeflate_free_compressor(c);
  }

  // Writes the finished jobs at the front, in order, waiting for them, until `keep` are left.
  // Holds `lock`.
  Status Drain(std::unique_lock<std::mutex>& lock, size_t keep) {
    while (jobs.size() > keep) {
      done.wait(lock, [&] { return jobs.front().done; });
      Job job = std::move(jobs.front());
      jobs.pop_front();
      if (job.failed) return Error{"gzip: libdeflate could not compress a piece"};
      lock.unlock();
      bool ok = WriteAll(fd, job.out.data(), job.out.size());
      int err = errno;
      lock.lock();
      if (!ok) return ErrnoError("gzip: write", err);
    }
    return {};
  }

  Status Submit() {
    std::unique_lock lock(mu);
    // At most two pieces per worker in memory: the producer waits for the oldest otherwise.
    if (auto st = Drain(lock, 2 * workers.size() - 1); !st) return st;
    jobs.push_back(Job{});
    jobs.back().in.swap(piece);
    piece.reserve(options.piece);
    wrote_any = true;
    lock.unlock();
    work.notify_one();
    return {};
  }
};

GzipWriter::GzipWriter(int fd, const Options& options) : s_(new Shared) {
  s_->fd = fd;
  s_->options = options;
  s_->options.level = std::clamp(options.level, 1, 12);
  s_->options.piece = std::max<size_t>(options.piece, 64 << 10);
  unsigned n = options.threads ? options.threads : UsableCpus();
  n = std::max(1u, n);
  s_->piece.reserve(s_->options.piece);
  for (unsigned i = 0; i < n; ++i) s_->workers.emplace_back([s = s_.get()] { s->Work(); });
}

GzipWriter::~GzipWriter() {
  {
    std::lock_guard lock(s_->mu);
    s_->stopping = true;
    for (auto& j : s_->jobs) j.taken = true;  // abandoned: nobody writes them
  }
  s_->work.notify_all();
  for (auto& t : s_->workers)
    if (t.joinable()) t.join();
}

Status GzipWriter::Write(const void* data, size_t size) {
  if (!s_->error.empty()) return Error{s_->error};
  const auto* p = static_cast<const unsigned char*>(data);
  while (size > 0) {
    size_t n = std::min(size, s_->options.piece - s_->piece.size());
    s_->piece.insert(s_->piece.end(), p, p + n);
    p += n;
    size -= n;
    if (s_->piece.size() == s_->options.piece)
      if (auto st = s_->Submit(); !st) {
        s_->error = st.error();
        return st;
      }
  }
  return {};
}

Status GzipWriter::Finish() {
  if (!s_->error.empty()) return Error{s_->error};
  if (!s_->piece.empty() || !s_->wrote_any)
    if (auto st = s_->Submit(); !st) return st;
  std::unique_lock lock(s_->mu);
  auto st = s_->Drain(lock, 0);
  s_->stopping = true;
  lock.unlock();
  s_->work.notify_all();
  for (auto& t : s_->workers)
    if (t.joinable()) t.join();
  if (!st) s_->error = st.error();
  return st;
}

}  // namespace imager::formats
