"""A small Python client for followgate.

Needs Debian's python3-grpcio and python3-protobuf, and the stubs of protos/
that scripts/gen_python.sh writes into gen/ (run with
PYTHONPATH=gen:client/python; see README.md, "Clients in other languages"):

    from followgate_client import FollowgateClient
    client = FollowgateClient("127.0.0.1:50051")
    for edge in client.followers("urn:li:organizationalPage:1000"):
        print(edge.follower.urn)

Errors surface as grpc.RpcError with the server's status code and message.
"""

import uuid

import grpc

try:
    from followgate.v1 import follows_pb2
    from followgate.v1 import follows_pb2_grpc
    from followgate.v1 import invitations_pb2
    from followgate.v1 import invitations_pb2_grpc
except ImportError as error:
    raise ImportError("followgate's Python stubs are missing: run scripts/gen_python.sh "
                      "and put gen/ on PYTHONPATH (%s)" % error) from error

_FILTERS = {
    "members": follows_pb2.FOLLOWER_FILTER_MEMBERS,
    "pages": follows_pb2.FOLLOWER_FILTER_ORGANIZATIONAL_PAGES,
    "all": follows_pb2.FOLLOWER_FILTER_ALL,
}


class FollowgateClient:
    """Streams follow edges from a followgate server over one channel."""

    def __init__(self, target, credentials=None, channel=None, token=None):
        """`credentials`: grpc.ssl_channel_credentials(...) for TLS / mutual TLS;
        `token`: this caller's token (needs TLS; sent as authorization: Bearer)."""
        if channel is None:
            if token is not None:
                if credentials is None:
                    raise ValueError("a token needs TLS credentials")
                credentials = grpc.composite_channel_credentials(
                    credentials, grpc.access_token_call_credentials(token))
            channel = (grpc.secure_channel(target, credentials)
                       if credentials is not None else grpc.insecure_channel(target))
        self._channel = channel
        self._follows = follows_pb2_grpc.FollowsServiceStub(channel)
        self._invitations = invitations_pb2_grpc.InvitationsServiceStub(channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def follower_pages(self, followee, edge_type="all", timeout=None, resume_token="",
                       max_staleness_seconds=None, heartbeats=False):
        """Yields FollowerPage messages for `followee` (an organizational page URN).

        Pass a page's `resume_token` to continue right after it. Heartbeat
        messages (sent while the server waits for LinkedIn's budget) are
        skipped unless `heartbeats` is set.
        """
        if edge_type not in _FILTERS:
            raise ValueError("edge_type must be one of %s" % sorted(_FILTERS))
        request = follows_pb2.StreamFollowersRequest(
            followee=followee, follower_filter=_FILTERS[edge_type], resume_token=resume_token)
        if max_staleness_seconds is not None:
            request.max_staleness.FromNanoseconds(int(max_staleness_seconds * 1e9))
        for page in self._follows.StreamFollowers(request, timeout=timeout):
            if heartbeats or not page.HasField("heartbeat"):
                yield page

    def followers(self, followee, edge_type="all", timeout=None):
        """Yields every FollowEdge of `followee`'s followers, page after page."""
        for page in self.follower_pages(followee, edge_type, timeout):
            yield from page.edges

    def list_followers(self, followee, edge_type="all", page_size=1000, page_token="",
                       timeout=None):
        """One ListFollowers page: (edges, next_page_token)."""
        request = follows_pb2.ListFollowersRequest(
            followee=followee, follower_filter=_FILTERS[edge_type], page_size=page_size,
            page_token=page_token)
        response = self._follows.ListFollowers(request, timeout=timeout)
        return list(response.edges), response.next_page_token

    def following(self, follower, timeout=None):
        """Yields every FollowEdge from `follower` to the pages it follows."""
        request = follows_pb2.StreamFollowingRequest(follower=follower)
        for page in self._follows.StreamFollowing(request, timeout=timeout):
            if not page.HasField("heartbeat"):
                yield from page.edges

    def send_invitations(self, company_id, profile_urns, request_id=None, account_id="",
                         retry_unknown=False, timeout=None):
        """Yields SendInvitationsResponse messages as the batch progresses.

        Pass the same `request_id` again (after a failure or a crash) to resume
        the batch: nothing already sent is sent again. One is made when None.
        """
        request = invitations_pb2.SendInvitationsRequest(
            company_id=company_id, account_id=account_id, profile_urns=list(profile_urns),
            request_id=request_id or str(uuid.uuid4()), retry_unknown=retry_unknown)
        yield from self._invitations.SendInvitations(request, timeout=timeout)

    def invite(self, company_id, profile_urns, request_id=None, **kwargs):
        """Runs a batch to its end; returns (request_id, results by index, progress)."""
        request_id = request_id or str(uuid.uuid4())
        results, progress = {}, None
        for response in self.send_invitations(company_id, profile_urns, request_id, **kwargs):
            for result in response.results:
                results[result.index] = result
            progress = response.progress
        return request_id, results, progress

    def get_invitation(self, company_id, profile_urn, timeout=None):
        """The ledger's Invitation record; grpc.RpcError NOT_FOUND if never tried."""
        request = invitations_pb2.GetInvitationRequest(company_id=company_id,
                                                        profile_urn=profile_urn)
        return self._invitations.GetInvitation(request, timeout=timeout)
