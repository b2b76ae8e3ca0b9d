"""
Tests for ``/2/filters``: job filter rules through the project's RAPI
client, against the real RAPI and master (see L{tests.test_rapi_client}).
"""

from twisted.internet import defer

from ganeti.rapi.client import RapiError
from tests.test_rapi_client import ClientTestBase

UUID1 = "11111111-1111-1111-1111-111111111111"
FIELDS = ["action", "predicates", "priority", "reason_trail", "uuid",
          "watermark"]
DELAY_ONLY = [["opcode", ["=", "OP_ID", "OP_TEST_DELAY"]]]


class FilterTests(ClientTestBase):

    @defer.inlineCallbacks
    def assertCode(self, code, d):
        failure = yield self.assertFailure(d, RapiError)
        self.assertEqual(failure.code, code, failure)
        return failure

    @defer.inlineCallbacks
    def test_add_get_list_delete(self):
        """A rule added by POST is listed, readable and deletable."""
        rules = yield self.anonymous.GetFilters()
        self.assertEqual(rules, [])
        uuid = yield self.client.AddFilter(3, DELAY_ONLY, ["RATE_LIMIT", 2],
                                           [["gnt:user", "slow", 1]])
        rules = yield self.anonymous.GetFilters()
        self.assertEqual(rules, [uuid])
        raw = yield self.anonymous._request("GET", "/2/filters")
        self.assertEqual(raw, [{"uuid": uuid, "uri": "/2/filters/" + uuid}])
        [bulk] = yield self.anonymous.GetFilters(bulk=True)
        self.assertEqual(sorted(bulk), FIELDS)
        rule = yield self.anonymous.GetFilter(uuid)
        self.assertEqual(rule, bulk)
        self.assertEqual((rule["priority"], rule["predicates"],
                          rule["action"], rule["watermark"]),
                         (3, DELAY_ONLY, ["RATE_LIMIT", 2], 0))
        self.assertEqual([entry[0] for entry in rule["reason_trail"]],
                         ["gnt:user", "gnt:client", "luxid"])
        result = yield self.client.DeleteFilter(uuid)
        self.assertIsNone(result)
        yield self.assertCode(404, self.anonymous.GetFilter(uuid))
        yield self.assertCode(404, self.client.DeleteFilter(uuid))

    @defer.inlineCallbacks
    def test_replace_creates_then_replaces(self):
        """PUT creates a rule under its uuid, then replaces it."""
        uuid = yield self.client.ReplaceFilter(UUID1, 0, [], "PAUSE")
        self.assertEqual(uuid, UUID1)
        job_id = yield self.client.AddClusterTags(["t"])
        uuid = yield self.client.ReplaceFilter(UUID1, 5, [], "ACCEPT")
        rule = yield self.client.GetFilter(UUID1)
        self.assertEqual((rule["priority"], rule["action"]), (5, "ACCEPT"))
        # The watermark moved on to the job submitted in between, which
        # the new action lets run.
        self.assertEqual(rule["watermark"], job_id)
        job = yield self.client.GetJobStatus(job_id)
        self.assertEqual(job["status"], "success")
        rules = yield self.client.GetFilters()
        self.assertEqual(rules, [UUID1])

    @defer.inlineCallbacks
    def test_pause_holds_job_until_deleted(self):
        """A PAUSE rule keeps a RAPI job queued until the rule goes."""
        uuid = yield self.client.AddFilter(0, [], "PAUSE")
        job_id = yield self.client.AddClusterTags(["later"])
        job = yield self.client.GetJobStatus(job_id)
        self.assertEqual(job["status"], "queued")
        yield self.client.DeleteFilter(uuid)
        ok = yield self.client.WaitForJobCompletion(job_id, period=0.1,
                                                    retries=10)
        self.assertTrue(ok)
        tags = yield self.client.GetClusterTags()
        self.assertEqual(tags, ["later"])

    @defer.inlineCallbacks
    def test_reject_cancels(self):
        """A REJECT rule cancels matching jobs."""
        yield self.client.AddFilter(
            0, [["opcode", ["=", "OP_ID", "OP_TAGS_SET"]]], "REJECT")
        job_id = yield self.client.AddClusterTags(["never"])
        job = yield self.client.GetJobStatus(job_id)
        self.assertEqual(job["status"], "canceled")

    @defer.inlineCallbacks
    def test_bad_input(self):
        """Unknown keys, actions, predicates and negative priorities are
        400; unknown paths' items 404; nothing is created."""
        for body in [{"priority": 0, "colour": "red"},
                     {"priority": -1},
                     {"action": "DROP"},
                     {"action": ["RATE_LIMIT", 0]},
                     {"predicates": [["jobid", ["=", "name", "x"]]]},
                     {"predicates": "all"},
                     {"reason": [["only two", 1]]}]:
            failure = yield self.assertCode(
                400, self.client._request("POST", "/2/filters", body=body))
            self.assertTrue(failure.explain)
        failure = yield self.assertCode(
            400, self.client.ReplaceFilter("not-a-uuid", 0, [], "PAUSE"))
        self.assertIn("Unable to parse UUID", failure.explain)
        rules = yield self.client.GetFilters()
        self.assertEqual(rules, [])

    @defer.inlineCallbacks
    def test_access(self):
        """Reading is anonymous; changing needs a write user."""
        yield self.assertCode(403, self.reader.AddFilter(0, [], "PAUSE"))
        yield self.assertCode(401, self.anonymous.AddFilter(0, [], "PAUSE"))
        uuid = yield self.client.AddFilter(0, [], "CONTINUE")
        yield self.assertCode(403, self.reader.DeleteFilter(uuid))
        rules = yield self.reader.GetFilters()
        self.assertEqual(rules, [uuid])

    @defer.inlineCallbacks
    def test_query_resource(self):
        """``/2/query/filter`` and its fields."""
        uuid = yield self.client.AddFilter(1, [], "ACCEPT")
        result = yield self.reader.Query("filter", ["uuid", "action"])
        self.assertEqual(result["data"], [[[0, uuid], [0, "ACCEPT"]]])
        fields = yield self.anonymous.QueryFields("filter")
        self.assertEqual(sorted(f["name"] for f in fields["fields"]), FIELDS)
