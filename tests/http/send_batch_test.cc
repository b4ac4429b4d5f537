#include "http/send_batch.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate {
namespace {

// A connected pair of loopback sockets.
struct Pair {
  explicit Pair(asio::io_context& io) : sender(io.get_executor()), receiver(io.get_executor()) {
    Acceptor acceptor(io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    sender.connect(acceptor.local_endpoint());
    acceptor.accept(receiver);
    receiver.non_blocking(true);
  }
  // What has arrived so far.
  std::string received() {
    std::string out;
    char chunk[65536];
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = receiver.read_some(asio::buffer(chunk), ec);
      if (ec) return out;
      out.append(chunk, n);
    }
  }
  Socket sender;
  Socket receiver;
};

SendBatch::Buffers buffers(const std::string& head, const std::string& body) {
  return {asio::buffer(head), asio::buffer(body)};
}

TEST(SendBatch, SendsQueuedTogetherGoAtTheFlushWhole) {
  asio::io_context io;
  Pair a(io);
  Pair b(io);
  SendBatch batch;
  const std::string head_a = "HTTP/1.1 200 OK\r\n\r\n", body_a = "{\"a\":1}";
  const std::string head_b = "HTTP/1.1 204 No Content\r\n\r\n", body_b;
  SendBatch::Slot slot_a, slot_b;
  if (!batch.queue(slot_a, a.sender, buffers(head_a, body_a))) GTEST_SKIP() << "no io_uring here";
  ASSERT_TRUE(batch.queue(slot_b, b.sender, buffers(head_b, body_b)));
  EXPECT_EQ(a.received(), "");  // nothing goes before the flush

  SendBatch::Unsent unsent_a(buffers(head_a, body_a)), unsent_b(buffers(head_b, body_b));
  EXPECT_FALSE(batch.settle(slot_a, unsent_a));  // flushes the batch
  EXPECT_FALSE(batch.settle(slot_b, unsent_b));
  EXPECT_EQ(beast::buffer_bytes(unsent_a), 0u);
  EXPECT_EQ(beast::buffer_bytes(unsent_b), 0u);
  EXPECT_EQ(a.received(), head_a + body_a);
  EXPECT_EQ(b.received(), head_b);
  const SendBatch::Counts counts = batch.counts();
  EXPECT_EQ(counts.batches, 1u);
  EXPECT_EQ(counts.sends, 2u);
  EXPECT_EQ(counts.unfinished, 0u);
}

TEST(SendBatch, WhatCouldNotGoAtOnceIsLeftToItsOwner) {
  asio::io_context io;
  Pair p(io);
  p.sender.set_option(asio::socket_base::send_buffer_size(4096));
  SendBatch batch;
  // More than the socket can hold: the send takes what fits and returns.
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n", body(8 << 20, 'x');
  SendBatch::Slot slot;
  if (!batch.queue(slot, p.sender, buffers(head, body))) GTEST_SKIP() << "no io_uring here";
  SendBatch::Unsent unsent(buffers(head, body));
  EXPECT_FALSE(batch.settle(slot, unsent));
  const std::size_t left = beast::buffer_bytes(unsent);
  EXPECT_GT(left, 0u);
  EXPECT_LT(left, head.size() + body.size());

  // Once the socket is full, a send gets nothing through, and no error.
  std::size_t sent = head.size() + body.size() - left;
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    SendBatch::Slot next;
    ASSERT_TRUE(batch.queue(next, p.sender, buffers(head, body)));
    SendBatch::Unsent unsent_next(buffers(head, body));
    EXPECT_FALSE(batch.settle(next, unsent_next));
    refused = beast::buffer_bytes(unsent_next) == head.size() + body.size();
    sent += head.size() + body.size() - beast::buffer_bytes(unsent_next);
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(batch.counts().unfinished, batch.counts().sends);

  // What went arrives, head first, as the sender drains.
  std::string got(sent, '\0');
  p.receiver.non_blocking(false);
  asio::read(p.receiver, asio::buffer(got));
  p.receiver.non_blocking(true);
  EXPECT_EQ(got.substr(0, head.size()), head);
  EXPECT_EQ(p.received(), "");
}

TEST(SendBatch, ASlotGoneBeforeTheFlushIsNotSent) {
  asio::io_context io;
  Pair p(io);
  SendBatch batch;
  const std::string head = "gone", body;
  {
    SendBatch::Slot slot;
    if (!batch.queue(slot, p.sender, buffers(head, body))) GTEST_SKIP() << "no io_uring here";
  }
  batch.flush();
  EXPECT_EQ(p.received(), "");
}

TEST(SendBatch, SendsThatCannotBeMadeAreErrorsAndTheOthersGo) {
  asio::io_context io;
  Pair closed(io);
  Pair left(io);
  Pair fine(io);
  left.receiver.set_option(asio::socket_base::linger(true, 0));
  left.receiver.close();  // a reset
  SendBatch batch;
  const std::string head = "answer", body;
  SendBatch::Slot slot_closed, slot_left, slot_fine;
  if (!batch.queue(slot_closed, closed.sender, buffers(head, body)))
    GTEST_SKIP() << "no io_uring here";
  ASSERT_TRUE(batch.queue(slot_left, left.sender, buffers(head, body)));
  ASSERT_TRUE(batch.queue(slot_fine, fine.sender, buffers(head, body)));
  closed.sender.close();  // while its send is queued

  SendBatch::Unsent unsent_closed(buffers(head, body)), unsent_left(buffers(head, body)),
      unsent_fine(buffers(head, body));
  EXPECT_EQ(batch.settle(slot_closed, unsent_closed), boost::system::errc::bad_file_descriptor);
  EXPECT_TRUE(batch.settle(slot_left, unsent_left));
  EXPECT_FALSE(batch.settle(slot_fine, unsent_fine));
  EXPECT_EQ(fine.received(), head);
}

}  // namespace
}  // namespace tollgate
