# -*- test-case-name: tests.test_rapi_client -*-
"""
An asynchronous RAPI client on treq, for this project's own tools, tests
and benchmarks.

Method names and arguments follow Ganeti's official client
(``ganeti.rapi.client.GanetiRapiClient``) so a script moves between the
two by adding ``yield``/``await``; every method returns a Deferred.  Job
submissions fire with the job id (a number), queries with the decoded
JSON, and an HTTP error fails with L{RapiError} carrying Ganeti's JSON
error body.
"""

import base64
import json
from urllib.parse import quote, urlencode

import treq
from treq.client import HTTPClient
from OpenSSL import crypto as ossl
from twisted.internet import defer, task
from twisted.internet.ssl import CertificateOptions
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from ganeti.rapi import DEFAULT_PORT

#: Job states after which a job never changes again.
JOB_FINAL = ("success", "error", "canceled")


class RapiError(Exception):
    """
    The RAPI answered with an error status.

    :ivar code: the HTTP status.
    :ivar message: Ganeti's short message.
    :ivar explain: Ganeti's explanation.
    """

    def __init__(self, code, message, explain=""):
        super().__init__(code, message, explain)
        self.code = code
        self.message = message
        self.explain = explain

    def __str__(self):
        return "%s %s: %s" % (self.code, self.message, self.explain)


@implementer(IPolicyForHTTPS)
class PinnedCertificatePolicy:
    """
    Trust exactly one certificate, whatever name it carries: the cluster's
    RAPI certificate is self-signed for the cluster name, while clients
    often connect to an address.

    :param pem: the PEM certificate (the key, if present, is ignored).
    """

    def __init__(self, pem):
        cert = ossl.load_certificate(ossl.FILETYPE_PEM, pem)
        self._options = CertificateOptions(verify=True, caCerts=[cert],
                                           requireCertificate=True)

    def creatorForNetloc(self, hostname, port):
        return self._options


def _bool_args(**flags):
    """Ganeti's RAPI takes booleans in the query string as 0/1."""
    return {name: int(bool(value)) for name, value in flags.items()
            if value is not None}


class RapiClient:
    """
    :param host: the cluster (master) name or address.
    :param port: RAPI port.
    :param username: a user of the RAPI users file, or None (anonymous).
    :param password: its password.
    :param reactor: the reactor (HTTP connections, polling delays).
    :param ca_pem: the certificate to trust (the cluster's ``rapi.pem``);
        without it the platform's trust store is used.
    :param http: a treq-compatible HTTP client to use instead of a new
        one (e.g. L{treq.testing.StubTreq} in tests).
    """

    def __init__(self, host, port=DEFAULT_PORT, username=None, password=None,
                 reactor=None, ca_pem=None, http=None):
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self._base = "https://%s:%d" % (
            "[%s]" % host if ":" in host else host, port)
        self._headers = {b"Accept": [b"application/json"]}
        if username is not None:
            token = base64.b64encode(("%s:%s" % (username, password))
                                     .encode("utf-8"))
            self._headers[b"Authorization"] = [b"Basic " + token]
        if http is None:
            pool = HTTPConnectionPool(reactor, persistent=True)
            policy = (PinnedCertificatePolicy(ca_pem) if ca_pem is not None
                      else None)
            agent = (Agent(reactor, contextFactory=policy, pool=pool)
                     if policy is not None else Agent(reactor, pool=pool))
            http = HTTPClient(agent)
            self._pool = pool
        else:
            self._pool = None
        self._http = http

    def close(self):
        """Close kept-alive connections (a Deferred)."""
        if self._pool is None:
            return defer.succeed(None)
        return self._pool.closeCachedConnections()

    # --- transport -------------------------------------------------------------

    @defer.inlineCallbacks
    def _request(self, method, path, query=None, body=None):
        url = self._base + path
        if query:
            url += "?" + urlencode(query, doseq=True)
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers[b"Content-Type"] = [b"application/json"]
        response = yield self._http.request(method, url, headers=headers,
                                            data=data)
        content = yield treq.content(response)
        try:
            value = json.loads(content.decode("utf-8")) if content else None
        except ValueError:
            value = None
        if response.code != 200:
            if isinstance(value, dict):
                raise RapiError(response.code, value.get("message", ""),
                                value.get("explain", ""))
            raise RapiError(response.code, "HTTP error",
                            content.decode("utf-8", "replace"))
        return value

    @staticmethod
    def _query(reason=None, dry_run=None, **extra):
        query = {key: value for key, value in extra.items()
                 if value is not None}
        if dry_run:
            query["dry-run"] = 1
        if reason is not None:
            query["reason"] = reason
        return query

    # --- cluster ---------------------------------------------------------------

    def GetVersion(self):
        return self._request("GET", "/version")

    def GetFeatures(self):
        return self._request("GET", "/2/features")

    def GetInfo(self, reason=None):
        return self._request("GET", "/2/info", self._query(reason))

    def GetOperatingSystems(self, reason=None):
        return self._request("GET", "/2/os", self._query(reason))

    def RedistributeConfig(self, reason=None):
        return self._request("PUT", "/2/redistribute-config",
                             self._query(reason))

    def ModifyCluster(self, reason=None, **kwargs):
        return self._request("PUT", "/2/modify", self._query(reason), kwargs)

    def GetClusterTags(self, reason=None):
        return self._request("GET", "/2/tags", self._query(reason))

    def AddClusterTags(self, tags, dry_run=False, reason=None):
        return self._request("PUT", "/2/tags",
                             self._query(reason, dry_run, tag=list(tags)))

    def DeleteClusterTags(self, tags, dry_run=False, reason=None):
        return self._request("DELETE", "/2/tags",
                             self._query(reason, dry_run, tag=list(tags)))

    # --- instances ----------------------------------------------------------

    @staticmethod
    def _instance(instance, action=""):
        return "/2/instances/%s%s" % (quote(instance, safe=""), action)

    def GetInstances(self, bulk=False, reason=None):
        return self._request("GET", "/2/instances",
                             self._query(reason, **_bool_args(bulk=bulk)))

    def GetInstance(self, instance, reason=None):
        return self._request("GET", self._instance(instance),
                             self._query(reason))

    def GetInstanceInfo(self, instance, static=None, reason=None):
        return self._request("GET", self._instance(instance, "/info"),
                             self._query(reason, **_bool_args(static=static)))

    def CreateInstance(self, mode, name, disk_template, disks, nics,
                       reason=None, dry_run=False, **kwargs):
        body = dict(kwargs, __version__=1, mode=mode, name=name,
                    disk_template=disk_template, disks=disks, nics=nics)
        return self._request("POST", "/2/instances",
                             self._query(reason, dry_run), body)

    @staticmethod
    def InstanceAllocation(mode, name, disk_template, disks, nics, **kwargs):
        """One instance of an L{InstancesMultiAlloc} request."""
        return dict(kwargs, mode=mode, name=name, disk_template=disk_template,
                    disks=disks, nics=nics)

    def InstancesMultiAlloc(self, instances, reason=None, dry_run=False,
                            **kwargs):
        body = dict(kwargs, instances=instances)
        return self._request("POST", "/2/instances-multi-alloc",
                             self._query(reason, dry_run), body)

    def DeleteInstance(self, instance, dry_run=False, reason=None, **kwargs):
        return self._request("DELETE", self._instance(instance),
                             self._query(reason, dry_run), kwargs or None)

    def ModifyInstance(self, instance, reason=None, **kwargs):
        return self._request("PUT", self._instance(instance, "/modify"),
                             self._query(reason), kwargs)

    def StartupInstance(self, instance, dry_run=False, no_remember=False,
                        reason=None):
        return self._request("PUT", self._instance(instance, "/startup"),
                             self._query(reason, dry_run, **_bool_args(
                                 no_remember=no_remember)))

    def ShutdownInstance(self, instance, dry_run=False, no_remember=False,
                         reason=None, **kwargs):
        return self._request("PUT", self._instance(instance, "/shutdown"),
                             self._query(reason, dry_run, **_bool_args(
                                 no_remember=no_remember)), kwargs or None)

    def RebootInstance(self, instance, reboot_type=None,
                       ignore_secondaries=None, dry_run=False, reason=None,
                       **kwargs):
        query = self._query(reason, dry_run, type=reboot_type, **_bool_args(
            ignore_secondaries=ignore_secondaries))
        return self._request("POST", self._instance(instance, "/reboot"),
                             query, kwargs or None)

    def ReinstallInstance(self, instance, os=None, no_startup=False,
                          osparams=None, reason=None):
        body = {"start": not no_startup}
        if os is not None:
            body["os"] = os
        if osparams is not None:
            body["osparams"] = osparams
        return self._request("POST", self._instance(instance, "/reinstall"),
                             self._query(reason), body)

    def RenameInstance(self, instance, new_name, ip_check=None,
                       name_check=None, reason=None):
        body = {"new_name": new_name}
        for key, value in (("ip_check", ip_check),
                           ("name_check", name_check)):
            if value is not None:
                body[key] = value
        return self._request("PUT", self._instance(instance, "/rename"),
                             self._query(reason), body)

    def ActivateInstanceDisks(self, instance, ignore_size=None, reason=None):
        return self._request("PUT",
                             self._instance(instance, "/activate-disks"),
                             self._query(reason, **_bool_args(
                                 ignore_size=ignore_size)))

    def DeactivateInstanceDisks(self, instance, reason=None):
        return self._request("PUT",
                             self._instance(instance, "/deactivate-disks"),
                             self._query(reason))

    def RecreateInstanceDisks(self, instance, disks=None, nodes=None,
                              reason=None):
        body = {key: value for key, value in (("disks", disks),
                                              ("nodes", nodes))
                if value is not None}
        return self._request("POST",
                             self._instance(instance, "/recreate-disks"),
                             self._query(reason), body)

    def GrowInstanceDisk(self, instance, disk, amount, wait_for_sync=None,
                         reason=None):
        body = {"amount": amount}
        if wait_for_sync is not None:
            body["wait_for_sync"] = wait_for_sync
        return self._request("POST", self._instance(
            instance, "/disk/%d/grow" % disk), self._query(reason), body)

    def MigrateInstance(self, instance, mode=None, cleanup=None,
                        target_node=None, reason=None):
        body = {key: value for key, value in (
            ("mode", mode), ("cleanup", cleanup),
            ("target_node", target_node)) if value is not None}
        return self._request("PUT", self._instance(instance, "/migrate"),
                             self._query(reason), body)

    def ReplaceInstanceDisks(self, instance, disks=None, mode="replace_auto",
                             remote_node=None, iallocator=None, reason=None,
                             early_release=None):
        """As the official client: the parameters in the query string."""
        query = self._query(reason, mode=mode, remote_node=remote_node,
                            iallocator=iallocator, early_release=early_release)
        if disks is not None:
            query["disks"] = ",".join(str(index) for index in disks)
        return self._request("POST",
                             self._instance(instance, "/replace-disks"), query)

    def FailoverInstance(self, instance, iallocator=None,
                         ignore_consistency=None, target_node=None,
                         reason=None):
        body = {key: value for key, value in (
            ("iallocator", iallocator),
            ("ignore_consistency", ignore_consistency),
            ("target_node", target_node)) if value is not None}
        return self._request("PUT", self._instance(instance, "/failover"),
                             self._query(reason), body)

    def PrepareExport(self, instance, mode, reason=None):
        return self._request("PUT", self._instance(instance, "/prepare-export"),
                             self._query(reason, mode=mode))

    def ExportInstance(self, instance, mode, destination, shutdown=None,
                       remove_instance=None, x509_key_name=None,
                       destination_x509_ca=None, compress=None, reason=None):
        body = {key: value for key, value in (
            ("shutdown", shutdown), ("remove_instance", remove_instance),
            ("x509_key_name", x509_key_name),
            ("destination_x509_ca", destination_x509_ca),
            ("compress", compress)) if value is not None}
        body.update(destination=destination, mode=mode)
        return self._request("PUT", self._instance(instance, "/export"),
                             self._query(reason), body)

    def GetInstanceConsole(self, instance, reason=None):
        return self._request("GET", self._instance(instance, "/console"),
                             self._query(reason))

    def GetInstanceTags(self, instance, reason=None):
        return self._request("GET", self._instance(instance, "/tags"),
                             self._query(reason))

    def AddInstanceTags(self, instance, tags, dry_run=False, reason=None):
        return self._request("PUT", self._instance(instance, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    def DeleteInstanceTags(self, instance, tags, dry_run=False, reason=None):
        return self._request("DELETE", self._instance(instance, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    # --- nodes --------------------------------------------------------------

    @staticmethod
    def _node(node, action=""):
        return "/2/nodes/%s%s" % (quote(node, safe=""), action)

    def GetNodes(self, bulk=False, reason=None):
        return self._request("GET", "/2/nodes",
                             self._query(reason, **_bool_args(bulk=bulk)))

    def GetNode(self, node, reason=None):
        return self._request("GET", self._node(node), self._query(reason))

    def GetNodeRole(self, node, reason=None):
        return self._request("GET", self._node(node, "/role"),
                             self._query(reason))

    def SetNodeRole(self, node, role, force=False, auto_promote=None,
                    reason=None):
        query = self._query(reason, **_bool_args(force=force))
        if auto_promote is not None:
            query["auto-promote"] = int(bool(auto_promote))
        return self._request("PUT", self._node(node, "/role"), query, role)

    def ModifyNode(self, node, reason=None, **kwargs):
        return self._request("POST", self._node(node, "/modify"),
                             self._query(reason), kwargs)

    def EvacuateNode(self, node, iallocator=None, remote_node=None,
                     dry_run=False, early_release=None, mode=None,
                     reason=None):
        body = {key: value for key, value in (
            ("iallocator", iallocator), ("remote_node", remote_node),
            ("early_release", early_release), ("mode", mode))
            if value is not None}
        return self._request("POST", self._node(node, "/evacuate"),
                             self._query(reason, dry_run), body)

    def MigrateNode(self, node, mode=None, dry_run=False, iallocator=None,
                    target_node=None, reason=None):
        body = {key: value for key, value in (
            ("mode", mode), ("iallocator", iallocator),
            ("target_node", target_node)) if value is not None}
        return self._request("POST", self._node(node, "/migrate"),
                             self._query(reason, dry_run), body)

    def GetNodeStorageUnits(self, node, storage_type, output_fields,
                            reason=None):
        """C{output_fields}: a list or, as in the official client, a
        comma-separated string."""
        if not isinstance(output_fields, str):
            output_fields = ",".join(output_fields)
        return self._request("GET", self._node(node, "/storage"), self._query(
            reason, storage_type=storage_type, output_fields=output_fields))

    def ModifyNodeStorageUnits(self, node, storage_type, name,
                               allocatable=None, reason=None):
        return self._request("PUT", self._node(node, "/storage/modify"),
                             self._query(reason, storage_type=storage_type,
                                         name=name, **_bool_args(
                                             allocatable=allocatable)))

    def RepairNodeStorageUnits(self, node, storage_type, name, reason=None):
        return self._request("PUT", self._node(node, "/storage/repair"),
                             self._query(reason, storage_type=storage_type,
                                         name=name))

    def GetNodeTags(self, node, reason=None):
        return self._request("GET", self._node(node, "/tags"),
                             self._query(reason))

    def AddNodeTags(self, node, tags, dry_run=False, reason=None):
        return self._request("PUT", self._node(node, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    def DeleteNodeTags(self, node, tags, dry_run=False, reason=None):
        return self._request("DELETE", self._node(node, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    # --- groups -------------------------------------------------------------

    def GetGroups(self, bulk=False, reason=None):
        return self._request("GET", "/2/groups",
                             self._query(reason, **_bool_args(bulk=bulk)))

    @staticmethod
    def _group(group, action=""):
        return "/2/groups/%s%s" % (quote(group, safe=""), action)

    def GetGroup(self, group, reason=None):
        return self._request("GET", self._group(group), self._query(reason))

    def CreateGroup(self, name, alloc_policy=None, dry_run=False,
                    reason=None):
        return self._request("POST", "/2/groups", self._query(reason, dry_run),
                             {"name": name, "alloc_policy": alloc_policy})

    def ModifyGroup(self, group, reason=None, **kwargs):
        return self._request("PUT", self._group(group, "/modify"),
                             self._query(reason), kwargs)

    def DeleteGroup(self, group, dry_run=False, reason=None):
        return self._request("DELETE", self._group(group),
                             self._query(reason, dry_run))

    def RenameGroup(self, group, new_name, reason=None):
        return self._request("PUT", self._group(group, "/rename"),
                             self._query(reason), {"new_name": new_name})

    def AssignGroupNodes(self, group, nodes, force=False, dry_run=False,
                         reason=None):
        return self._request("PUT", self._group(group, "/assign-nodes"),
                             self._query(reason, dry_run,
                                         **_bool_args(force=force or None)),
                             {"nodes": list(nodes)})

    def GetGroupTags(self, group, reason=None):
        return self._request("GET", self._group(group, "/tags"),
                             self._query(reason))

    def AddGroupTags(self, group, tags, dry_run=False, reason=None):
        return self._request("PUT", self._group(group, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    def DeleteGroupTags(self, group, tags, dry_run=False, reason=None):
        return self._request("DELETE", self._group(group, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    # --- networks -----------------------------------------------------------

    def GetNetworks(self, bulk=False, reason=None):
        """
        :return: (Deferred) the RAPI's answer as the other collection
            getters here: ``[{"name", "uri"}]``, or with C{bulk} the
            networks' dicts.
        """
        return self._request("GET", "/2/networks",
                             self._query(reason, **_bool_args(bulk=bulk)))

    @staticmethod
    def _network(network, action=""):
        return "/2/networks/%s%s" % (quote(network, safe=""), action)

    def GetNetwork(self, network, reason=None):
        return self._request("GET", self._network(network),
                             self._query(reason))

    def CreateNetwork(self, network_name, network, gateway=None,
                      network6=None, gateway6=None, mac_prefix=None,
                      add_reserved_ips=None, tags=None, dry_run=False,
                      reason=None):
        """
        As Ganeti's client: C{add_reserved_ips} and C{tags} are
        comma-separated strings here.
        """
        body = {"network_name": network_name, "network": network,
                "gateway": gateway, "network6": network6,
                "gateway6": gateway6, "mac_prefix": mac_prefix,
                "add_reserved_ips": (add_reserved_ips.split(",")
                                     if add_reserved_ips else None),
                "tags": tags.split(",") if tags else None}
        return self._request("POST", "/2/networks",
                             self._query(reason, dry_run), body)

    def ConnectNetwork(self, network_name, group_name, mode, link, vlan="",
                       dry_run=False, reason=None):
        return self._request("PUT", self._network(network_name, "/connect"),
                             self._query(reason, dry_run),
                             {"group_name": group_name, "network_mode": mode,
                              "network_link": link, "network_vlan": vlan})

    def DisconnectNetwork(self, network_name, group_name, dry_run=False,
                          reason=None):
        return self._request("PUT",
                             self._network(network_name, "/disconnect"),
                             self._query(reason, dry_run),
                             {"group_name": group_name})

    def ModifyNetwork(self, network, reason=None, **kwargs):
        return self._request("PUT", self._network(network, "/modify"),
                             self._query(reason), kwargs)

    def DeleteNetwork(self, network, dry_run=False, reason=None):
        return self._request("DELETE", self._network(network),
                             self._query(reason, dry_run))

    def RenameNetwork(self, network, new_name, reason=None):
        return self._request("PUT", self._network(network, "/rename"),
                             self._query(reason), {"new_name": new_name})

    def GetNetworkTags(self, network, reason=None):
        return self._request("GET", self._network(network, "/tags"),
                             self._query(reason))

    def AddNetworkTags(self, network, tags, dry_run=False, reason=None):
        return self._request("PUT", self._network(network, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    def DeleteNetworkTags(self, network, tags, dry_run=False, reason=None):
        return self._request("DELETE", self._network(network, "/tags"),
                             self._query(reason, dry_run, tag=list(tags)))

    # --- jobs ---------------------------------------------------------------

    def GetJobs(self, bulk=False):
        return self._request("GET", "/2/jobs",
                             self._query(**_bool_args(bulk=bulk)))

    def GetJobStatus(self, job_id):
        return self._request("GET", "/2/jobs/%s" % job_id)

    def CancelJob(self, job_id, dry_run=False):
        return self._request("DELETE", "/2/jobs/%s" % job_id,
                             self._query(dry_run=dry_run))

    def WaitForJobChange(self, job_id, fields, prev_job_info,
                         prev_log_serial):
        return self._request("GET", "/2/jobs/%s/wait" % job_id, body={
            "fields": fields, "previous_job_info": prev_job_info,
            "previous_log_serial": prev_log_serial})

    @defer.inlineCallbacks
    def WaitForJobCompletion(self, job_id, period=5, retries=-1):
        """
        Poll a job until it ends, as the official client does.

        :return: (Deferred) True when the job succeeded, False when it
            failed, was canceled, or did not end within C{retries} polls.
        """
        while True:
            job = yield self.GetJobStatus(job_id)
            if job["status"] in JOB_FINAL:
                return job["status"] == "success"
            if retries == 0:
                return False
            if retries > 0:
                retries -= 1
            yield task.deferLater(self._reactor, period, lambda: None)

    # --- query2 -------------------------------------------------------------

    def Query(self, what, fields, qfilter=None, reason=None):
        body = {"fields": list(fields)}
        if qfilter is not None:
            body["qfilter"] = qfilter
        return self._request("PUT", "/2/query/%s" % what, self._query(reason),
                             body)

    def QueryFields(self, what, fields=None, reason=None):
        query = self._query(reason)
        if fields is not None:
            query["fields"] = ",".join(fields)
        return self._request("GET", "/2/query/%s/fields" % what, query)

    # --- job filter rules ---------------------------------------------------

    def GetFilters(self, bulk=False):
        """:return: (Deferred) the rules' uuids, or with C{bulk} dicts."""
        d = self._request("GET", "/2/filters",
                          self._query(**_bool_args(bulk=bulk)))
        if bulk:
            return d
        return d.addCallback(lambda rules: [r["uuid"] for r in rules])

    @staticmethod
    def _filter(uuid):
        return "/2/filters/%s" % quote(uuid, safe="")

    def GetFilter(self, filter_uuid):
        return self._request("GET", self._filter(filter_uuid))

    def _filter_body(self, priority, predicates, action, reason_trail):
        # Like the official client: the caller's trail plus this client,
        # without changing the caller's list.
        trail = list(reason_trail or [])
        trail.append(["gnt:client", "", int(self._reactor.seconds() * 1e9)])
        return {"priority": priority, "predicates": predicates,
                "action": action, "reason": trail}

    def AddFilter(self, priority, predicates, action, reason_trail=None):
        """:return: (Deferred) the new rule's uuid."""
        return self._request("POST", "/2/filters", body=self._filter_body(
            priority, predicates, action, reason_trail))

    def ReplaceFilter(self, uuid, priority, predicates, action,
                      reason_trail=None):
        """:return: (Deferred) the uuid of the replaced or created rule."""
        return self._request("PUT", self._filter(uuid), body=self._filter_body(
            priority, predicates, action, reason_trail))

    def DeleteFilter(self, uuid):
        return self._request("DELETE", self._filter(uuid))
