"""World model -> ARM JSON, with the wire names the SDK models and az read.

Kept apart from the routes so the contract tests can check every shape against the public
example payloads (arm-examples/*.json) through the real SDK models.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ..model import Certificate, DbStream, ManagedInstance, MiLink, SqlInstance, Subscription, World
from . import api_versions
from .errors import ENDPOINT_CERT_TYPE, LINK_TYPE, MI_TYPE, TRUST_CERT_TYPE

UTC = dt.timezone.utc
TENANT_DOMAIN = "milinklab.onmicrosoft.com"


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, as ARM writes times (naive datetimes are UTC in the lab)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def lsn(position: int) -> str | None:
    """An LSN as ARM's decimal string. The lab's LSNs are log byte positions; 0 means unknown."""
    return str(position) if position else None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# --------------------------------------------------------------------------- accounts


def subscription_json(sub: Subscription) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub.subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.subscription_id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def tenant_json(tenant_id: str, home: bool) -> dict[str, Any]:
    domain = TENANT_DOMAIN if home else f"tenant-{tenant_id[:8]}.onmicrosoft.com"
    return {
        "id": f"/tenants/{tenant_id}",
        "tenantId": tenant_id,
        "countryCode": "NL",
        "displayName": "milink lab" if home else f"Lab tenant {tenant_id[:8]}",
        "domains": [domain],
        "tenantCategory": "Home",
        "defaultDomain": domain,
        "tenantType": "AAD",
    }


def resource_group_json(sub_id: str, name: str, location: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub_id}/resourceGroups/{name}",
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
    }


def metadata_json(base_url: str, authority: str, tenant: str = "common") -> dict[str, Any]:
    """``/metadata/endpoints`` as az's cloud registration reads it (one cloud object)."""
    return {
        "name": "MilinkLab",
        "portal": f"{base_url}/portal",
        "galleryEndpoint": f"{base_url}/gallery/",
        "gallery": f"{base_url}/gallery/",
        "graph": f"{base_url}/graph/",
        "graphAudience": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "resourceManager": base_url + "/",
        "sqlManagement": f"{base_url}/sqlmanagement/",
        "batch": "https://batch.core.windows.net/",
        "media": "https://rest.media.azure.net",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
        "attestationResourceId": "https://attest.azure.net",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
        "vmImageAliasDoc": f"{base_url}/vmimagealiases.json",
        "authentication": {
            "loginEndpoint": authority,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": tenant,
            "identityProvider": "AAD",
        },
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "keyvaultDns": ".vault.azure.net",
            "keyVaultDns": ".vault.azure.net",
            "mhsmDns": ".managedhsm.azure.net",
            "mysqlServerEndpoint": ".mysql.database.azure.com",
            "postgresqlServerEndpoint": ".postgres.database.azure.com",
            "mariadbServerEndpoint": ".mariadb.database.azure.com",
            "sqlServerHostname": ".database.windows.net",
            "storage": "core.windows.net",
            "storageSyncEndpointSuffix": "afs.azure.net",
            "synapseAnalytics": "dev.azuresynapse.net",
            "attestationEndpoint": "attest.azure.net",
        },
    }


# --------------------------------------------------------------------------- managed instances


def mi_json(mi: ManagedInstance) -> dict[str, Any]:
    prefix = "BC" if mi.tier == "BusinessCritical" else "GP"
    # Passive = the instance only hosts link secondaries (a license-free DR replica)
    replicas = {d.lower() for link in mi.links.values() if link.instance_link_role == "Secondary"
                for d in link.databases}
    active = any(db.name.lower() not in replicas for db in mi.databases.values()) or any(
        link.instance_link_role == "Primary" for link in mi.links.values())
    return {
        "id": mi.resource_id,
        "name": mi.name,
        "type": MI_TYPE,
        "location": mi.location,
        "tags": {},
        "sku": {"name": f"{prefix}_{mi.family}", "tier": mi.tier, "family": mi.family, "capacity": mi.vcores},
        "properties": {
            "provisioningState": "Succeeded",
            "fullyQualifiedDomainName": mi.fqdn,
            "administratorLogin": "labadmin",
            "subnetId": (f"/subscriptions/{mi.subscription_id}/resourceGroups/{mi.resource_group}/providers/"
                         f"Microsoft.Network/virtualNetworks/vnet-{mi.name}/subnets/ManagedInstance"),
            "state": mi.state,
            "licenseType": mi.license_type,
            "hybridSecondaryUsage": mi.hybrid_secondary_usage,
            "hybridSecondaryUsageDetected": "Active" if active else "Passive",
            "vCores": mi.vcores,
            "storageSizeInGB": mi.storage_gb,
            "collation": mi.collation,
            "dnsZone": mi.dns_zone,
            "publicDataEndpointEnabled": False,
            "proxyOverride": "Proxy",
            "timezoneId": "UTC",
            "maintenanceConfigurationId": (f"/subscriptions/{mi.subscription_id}/providers/"
                                           "Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default"),
            "minimalTlsVersion": "1.2",
            "currentBackupStorageRedundancy": "Geo",
            "requestedBackupStorageRedundancy": "Geo",
            "zoneRedundant": False,
            "isGeneralPurposeV2": mi.is_general_purpose_v2,
            "databaseFormat": mi.database_format,
            "pricingModel": "Regular",
        },
    }


def trust_cert_json(mi: ManagedInstance, cert: Certificate) -> dict[str, Any]:
    return {
        "id": f"{mi.resource_id}/serverTrustCertificates/{cert.name}",
        "name": cert.name,
        "type": TRUST_CERT_TYPE,
        "properties": {
            "publicBlob": "0x" + cert.der.hex().upper(),
            "thumbprint": cert.thumbprint.hex().upper(),
            "certificateName": cert.name,
        },
    }


def endpoint_cert_json(mi: ManagedInstance, endpoint_type: str, der: bytes) -> dict[str, Any]:
    """The MI's own certificate; the real service returns ``publicBlob`` without ``0x``."""
    return {
        "id": f"{mi.resource_id}/endpointCertificates/{endpoint_type}",
        "name": endpoint_type,
        "type": ENDPOINT_CERT_TYPE,
        "properties": {"publicBlob": der.hex().upper()},
    }


# --------------------------------------------------------------------------- links


def find_stream(link: MiLink, database: str) -> DbStream | None:
    if database in link.streams:
        return link.streams[database]
    for name, stream in link.streams.items():
        if name.lower() == database.lower():
            return stream
    return None


def partner_instance(world: World, link: MiLink) -> SqlInstance | None:
    """The SQL Server a link points at: by endpoint host (address or name), else by its AG name."""
    host = link.partner_endpoint.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]").lower()
    for inst in world.sql_instances.values():
        names = {inst.address.lower(), inst.name.lower(), inst.name.split("\\")[0].lower()}
        if host in names or host.split(".")[0] in names:
            return inst
    for inst in world.sql_instances.values():
        if inst.find_ag(link.partner_availability_group_name):
            return inst
    return None


def partner_cert_validity(world: World, mi: ManagedInstance, link: MiLink) -> dict[str, Any] | None:
    """The trust certificate on the MI matching the SQL Server's endpoint certificate."""
    inst = partner_instance(world, link)
    if inst is None:
        return None
    names = {e.certificate_name.lower() for e in inst.endpoints.values() if e.certificate_name}
    certs = [c for c in inst.certificates.values() if c.name.lower() in names]
    thumbs = {c.thumbprint for c in certs}
    for trust in mi.trust_certificates.values():
        if trust.thumbprint in thumbs:
            return {"certificateName": trust.name, "expiryDate": iso(trust.expiry_date)}
    return None


def _replica_state(stream: DbStream, failover: bool) -> str:
    if failover:
        return "LinkFailoverInProgress"
    if stream.seeding_failure:
        return "LinkCreationError"
    if stream.phase in ("INITIALIZING", "SEEDING"):
        if stream.last_error and not stream.connected and not stream.seeding_attempts:
            return "LinkInitError"
        return "CreatingLink"
    return "LinkSynchronizing"


def _health(stream: DbStream, link: MiLink) -> str:
    if not stream.connected or stream.phase == "NOT SYNCHRONIZING":
        return "NOT_HEALTHY"
    if stream.phase == "SYNCHRONIZED":
        return "HEALTHY"
    if stream.phase == "SYNCHRONIZING":
        return "HEALTHY" if link.replication_mode == "Async" else "PARTIALLY_HEALTHY"
    return "PARTIALLY_HEALTHY"


def database_json(world: World, mi: ManagedInstance, link: MiLink, database: str, failover: bool,
                  validity: dict[str, Any] | None) -> dict[str, Any]:
    stream = find_stream(link, database)
    if stream is None:  # the replication engine has not paired this database yet
        return _drop_none({
            "databaseName": database,
            "instanceReplicaId": str(uuid.uuid5(link.dag_id, f"instance:{database.lower()}")),
            "partnerReplicaId": str(uuid.uuid5(link.dag_id, f"partner:{database.lower()}")),
            "replicaState": "LinkFailoverInProgress" if failover else "CreatingLink",
            "synchronizationHealth": "NOT_HEALTHY",
            "connectedState": "DISCONNECTED",
            "partnerAuthCertValidity": validity,
        })
    mi_primary = link.instance_link_role == "Primary"
    seeding = stream.phase in ("INITIALIZING", "SEEDING") and stream.seeding_total_bytes > 0
    error = stream.last_error[0] if stream.last_error else (
        stream.seeding_failure[0] if stream.seeding_failure else None)
    d: dict[str, Any] = {
        "databaseName": database,
        "instanceReplicaId": str(stream.instance_replica_id),
        "partnerReplicaId": str(stream.partner_replica_id),
        "replicaState": _replica_state(stream, failover),
        "seedingProgress": f"{stream.seeding_percent}%" if seeding else None,
        "synchronizationHealth": _health(stream, link),
        "connectedState": "CONNECTED" if stream.connected else "DISCONNECTED",
        "mostRecentLinkError": str(error) if error else None,
        "partnerAuthCertValidity": validity,
    }
    if mi_primary:
        redo_lag = 0
        if stream.last_hardened_time and stream.last_redone_time:
            redo_lag = max(0, int((stream.last_hardened_time - stream.last_redone_time).total_seconds()))
        d.update({
            "lastSentLsn": lsn(stream.sent_lsn), "lastSentTime": iso(stream.last_sent_time),
            # what the partner (SQL Server secondary) has acknowledged
            "lastReceivedLsn": lsn(stream.hardened_lsn), "lastReceivedTime": iso(stream.last_hardened_time),
            "lastHardenedLsn": lsn(stream.end_of_log_lsn), "lastHardenedTime": iso(stream.primary_last_commit_time),
            "lastCommitLsn": lsn(stream.end_of_log_lsn), "lastCommitTime": iso(stream.primary_last_commit_time),
            "instanceSendReplicationLagSeconds": stream.secondary_lag_seconds,
            "instanceRedoReplicationLagSeconds": redo_lag,
        })
    else:
        d.update({
            "lastReceivedLsn": lsn(stream.hardened_lsn), "lastReceivedTime": iso(stream.last_received_time),
            "lastHardenedLsn": lsn(stream.hardened_lsn), "lastHardenedTime": iso(stream.last_hardened_time),
            "lastCommitLsn": lsn(stream.redone_lsn), "lastCommitTime": iso(stream.secondary_last_commit_time),
        })
    return _drop_none(d)


def link_json(world: World, mi: ManagedInstance, link: MiLink, api_version: str, *, failover: bool = False,
              link_mode: str | None = None) -> dict[str, Any]:
    """One distributedAvailabilityGroups resource in the schema of ``api_version``."""
    validity = partner_cert_validity(world, mi, link)
    dbs = [database_json(world, mi, link, name, failover, validity) for name in link.databases]
    resource = {"id": f"{mi.resource_id}/distributedAvailabilityGroups/{link.name}", "name": link.name,
                "type": LINK_TYPE}
    if not api_versions.at_least(api_version, api_versions.NEW_LINK_SCHEMA):
        return {**resource, "properties": _old_schema(link, dbs, api_version)}
    props: dict[str, Any] = {
        "distributedAvailabilityGroupName": link.name,
        "distributedAvailabilityGroupId": str(link.dag_id),
        "replicationMode": link.replication_mode,
        "partnerLinkRole": link.partner_link_role,
        "partnerAvailabilityGroupName": link.partner_availability_group_name,
        "partnerEndpoint": link.partner_endpoint,
        "instanceLinkRole": link.instance_link_role,
        "instanceAvailabilityGroupName": link.instance_availability_group_name,
        "failoverMode": link.failover_mode,
        "seedingMode": link.seeding_mode,
        "databases": dbs,
    }
    if api_versions.at_least(api_version, api_versions.LINK_MODE):
        props["linkMode"] = link_mode or ("MultiDatabase" if len(link.databases) > 1 else "SingleDatabase")
    return {**resource, "properties": props}


def _old_schema(link: MiLink, dbs: list[dict[str, Any]], api_version: str) -> dict[str, Any]:
    """Before 2023-05-01-preview the link had one target database and source/primary names."""
    first = dbs[0] if dbs else {}
    state = {"LinkSynchronizing": "Catchup", "CreatingLink": "Seeding"}.get(first.get("replicaState", ""),
                                                                        first.get("replicaState"))
    props = {
        "targetDatabase": link.databases[0] if link.databases else None,
        "sourceEndpoint": link.partner_endpoint,
        "primaryAvailabilityGroupName": link.partner_availability_group_name,
        "secondaryAvailabilityGroupName": link.instance_availability_group_name,
        "replicationMode": link.replication_mode,
        "distributedAvailabilityGroupId": str(link.dag_id),
        "sourceReplicaId": first.get("partnerReplicaId"),
        "targetReplicaId": first.get("instanceReplicaId"),
        "linkState": state,
        "lastHardenedLsn": first.get("lastHardenedLsn"),
    }
    if api_versions.at_least(api_version, "2022-08-01-preview"):
        props["instanceRole"] = link.instance_link_role
    return _drop_none(props)
